//===- MemoryLayerTest.cpp - JIT-compiled Memory Layers vs. the oracle -===//
//
// Compiles Memory Layers through the whole CPU pipeline and the JIT and
// compares them with lib/Reference over a sweep of configurations: every
// tau class (1 .. 16), several K and h, token counts that are not multiples
// of any tile (1, 7, 64, 2049), both weightings, with and without bias,
// f32, f16 and bf16 tables, fused and unfused.
//
// Accuracy: an output element must satisfy |y - ref| <= tol * max|ref row|,
// tol = 1e-5 for every table type: the reference reads f16/bf16 rows
// widened exactly as the kernels do, so the tolerance covers the f32
// accumulation, not the storage rounding. Scaling by the row's largest
// magnitude keeps outputs that cancel to near zero from demanding more than f32
// can give.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mnemo/InitAll.h"
#include "mnemo/JIT/MemoryLayer.h"
#include "mnemo/Reference/Reference.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <sstream>

using namespace mnemo;

namespace {

/// Tables of a configuration in storage form, with their f32 values.
struct Tables {
  std::vector<float> values;  // what the reference reads
  std::vector<uint16_t> half; // f16 or bf16 storage
  const void *data(ElementType type) const {
    return type == ElementType::F32 ? static_cast<const void *>(values.data())
                                    : static_cast<const void *>(half.data());
  }
};

Tables randomTables(size_t count, ElementType type, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Tables tables;
  tables.values.resize(count);
  for (float &v : tables.values)
    v = uniform(rng);
  tables.half = test::storeAs(type, tables.values);
  return tables;
}

/// Inputs with the corner cases of SPEC §1 mixed in: exact zeros and -0.0
/// (1 bits), tiny negatives (0 bits), and magnitudes of 10 to 100, whose
/// exp(-2|z|/t) is far below what 1 + exp can hold.
std::vector<float> randomInput(int64_t n, int64_t d, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 15);
  std::vector<float> x(static_cast<size_t>(n * d));
  for (float &v : x) {
    switch (pick(rng)) {
    case 0:
      v = 0.0f;
      break;
    case 1:
      v = -0.0f;
      break;
    case 2:
      v = -1e-30f;
      break;
    case 3:
      v = std::uniform_real_distribution<float>(10.0f, 100.0f)(rng) *
          (normal(rng) < 0 ? -1.0f : 1.0f);
      break;
    default:
      v = normal(rng);
    }
  }
  return x;
}

/// Checks `actual` against `expected` row by row (see the file comment).
::testing::AssertionResult matches(const std::vector<float> &actual,
                                   const std::vector<float> &expected,
                                   int64_t width, double tolerance) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "sizes differ";
  for (size_t row = 0; row * width < expected.size(); ++row) {
    double scale = 0.0;
    for (int64_t c = 0; c < width; ++c)
      scale = std::max(scale, std::fabs(double(expected[row * width + c])));
    scale = std::max(scale, 1e-30);
    for (int64_t c = 0; c < width; ++c) {
      size_t i = row * width + c;
      double error = std::fabs(double(actual[i]) - double(expected[i]));
      if (!(error <= tolerance * scale))
        return ::testing::AssertionFailure()
               << "row " << row << " column " << c << ": got " << actual[i]
               << ", expected " << expected[i] << " (error " << error / scale
               << " of the row's largest magnitude)";
    }
  }
  return ::testing::AssertionSuccess();
}

struct SweepCase {
  int64_t tau, numTables, width;
  ElementType type;
  Weighting weighting;
  bool bias;
  /// 0: a kernel for any token count, run with N = 1, 7, 64 and 2049. N > 0:
  /// a kernel specialized for N tokens (as a runtime compiles for decoding),
  /// run with N.
  int64_t staticTokens = 0;
  /// f32 lanes of the generated code; 0: the host's.
  int64_t vectorWidth = 0;
};

std::string caseName(const ::testing::TestParamInfo<SweepCase> &info) {
  const SweepCase &c = info.param;
  std::ostringstream name;
  name << "tau" << c.tau << "_K" << c.numTables << "_h" << c.width << "_"
       << std::string(elementTypeName(c.type)) << "_"
       << (c.weighting == Weighting::Prob ? "prob" : "l1prob")
       << (c.bias ? "_bias" : "");
  if (c.staticTokens > 0)
    name << "_N" << c.staticTokens;
  if (c.vectorWidth > 0)
    name << "_V" << c.vectorWidth;
  return name.str();
}

class MemoryLayerSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(MemoryLayerSweep, MatchesReference) {
  const SweepCase &c = GetParam();
  MemoryLayerConfig config;
  config.numTables = c.numTables;
  config.bitsPerTable = c.tau;
  config.outputWidth = c.width;
  config.tableType = c.type;
  config.weighting = c.weighting;
  config.temperature = c.weighting == Weighting::Prob ? 0.75f : 1.0f;
  config.hasBias = c.bias;
  config.numTokens = c.staticTokens;
  JITOptions options;
  options.threads = 2;
  options.vectorWidth = c.vectorWidth;
  auto kernel = MemoryLayerKernel::compile(config, options);
  ASSERT_TRUE(static_cast<bool>(kernel)) << llvm::toString(kernel.takeError());

  std::mt19937 rng(
      static_cast<unsigned>(c.tau * 1000 + c.numTables * 10 + c.width));
  Tables tables = randomTables(static_cast<size_t>(c.numTables) *
                                   (size_t{1} << c.tau) * c.width,
                               c.type, rng);
  std::vector<float> bias(c.width);
  for (float &b : bias)
    b = std::uniform_real_distribution<float>(-0.5f, 0.5f)(rng);
  auto prepared =
      (*kernel)->prepare(tables.data(c.type), c.bias ? bias.data() : nullptr);
  ASSERT_TRUE(static_cast<bool>(prepared))
      << llvm::toString(prepared.takeError());

  ref::MemoryLayerShape shape{c.numTables, c.tau, c.width, c.weighting,
                              config.temperature};
  double tolerance = 1e-5;
  std::vector<int64_t> tokenCounts = {1, 7, 64, 2049};
  if (c.staticTokens > 0)
    tokenCounts = {c.staticTokens};
  for (int64_t n : tokenCounts) {
    std::vector<float> x = randomInput(n, config.inputWidth(), rng);
    std::vector<float> y(static_cast<size_t>(n * c.width), NAN);
    ASSERT_FALSE(
        static_cast<bool>((*kernel)->run(*prepared, x.data(), n, y.data())));
    std::vector<float> expected =
        ref::memoryLayer(x.data(), n, tables.values.data(),
                         c.bias ? bias.data() : nullptr, shape);
    EXPECT_TRUE(matches(y, expected, c.width, tolerance)) << "N = " << n;
    // Many tokens are hashed in groups of vectors reduced across one
    // another, a single token a vector at a time: the same tree of sums and
    // products, so each token's outputs are the same, bit for bit, alone.
    if (n != 64)
      continue;
    for (int64_t token = 0; token < n; ++token) {
      std::vector<float> alone(static_cast<size_t>(c.width), NAN);
      ASSERT_FALSE(static_cast<bool>((*kernel)->run(
          *prepared, &x[token * config.inputWidth()], 1, alone.data())));
      for (int64_t o = 0; o < c.width; ++o)
        ASSERT_EQ(alone[o], y[token * c.width + o])
            << "token " << token << " column " << o;
    }
  }
}

std::vector<SweepCase> sweepCases() {
  // (tau, K, h): every tau class, several K and h; h values that are not
  // multiples of the vector width exercise partial vectors.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes = {
      {1, 24, 40},
      {2, 12, 16},
      {4, 16, 96},
      {7, 6, 20},
      {8, 8, 64},
      {10, 5, 24},
      {13, 2, 12},
      {16, 1, 8},
      // Rows hashed in groups of tau vectors (V chunks), then vectors left
      // over and a partial one (K = 21: 16 + 4 + 1 with AVX-512).
      {8, 21, 24},
      {2, 40, 16},
  };
  std::vector<SweepCase> cases;
  for (auto [tau, k, h] : shapes)
    for (ElementType type :
         {ElementType::F32, ElementType::F16, ElementType::BF16})
      for (Weighting w : {Weighting::Prob, Weighting::L1Prob})
        for (bool bias : {false, true}) {
          // The f16/bf16 runs cover both weightings without bias.
          if (type != ElementType::F32 && bias)
            continue;
          cases.push_back({tau, k, h, type, w, bias});
        }
  // Kernels specialized for a token count: decoding (N = 1 and 7, the
  // few-token tiling where 2^tau allows) and a long prompt.
  for (auto [tau, k, h] : shapes) {
    cases.push_back({tau, k, h, ElementType::F32, Weighting::L1Prob, true, 1});
    cases.push_back({tau, k, h, ElementType::F32, Weighting::Prob, false, 7});
    cases.push_back({tau, k, h, ElementType::BF16, Weighting::Prob, true, 1});
    cases.push_back({tau, k, h, ElementType::F32, Weighting::Prob, true, 2049});
  }
  // AVX2's width on any host (the default is the host's): other groupings
  // of chunks into vectors.
  for (auto [tau, k, h] : shapes)
    if (8 % tau == 0) {
      cases.push_back(
          {tau, k, h, ElementType::F32, Weighting::Prob, true, 0, 8});
      cases.push_back(
          {tau, k, h, ElementType::F16, Weighting::L1Prob, false, 0, 8});
    }
  // AVX-512's width on any host: groups whose later levels gather lanes
  // across 128-bit blocks.
  for (auto [tau, k, h] : shapes)
    if (16 % tau == 0)
      cases.push_back(
          {tau, k, h, ElementType::F32, Weighting::L1Prob, true, 0, 16});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Configurations, MemoryLayerSweep,
                         ::testing::ValuesIn(sweepCases()), caseName);

//===----------------------------------------------------------------------===//
// Tiling choices: every parallel strategy and odd tile sizes give the same
// numbers.
//===----------------------------------------------------------------------===//

struct TilingCase {
  const char *name;
  JITOptions options;
};

class MemoryLayerTiling : public ::testing::TestWithParam<int> {};

TEST_P(MemoryLayerTiling, ForcedTilesMatchReference) {
  std::vector<JITOptions> variants(6);
  variants[0].parallel = "columns";
  variants[1].parallel = "tokens";
  variants[1].tokenTile = 5;
  variants[1].tablesPerPass = 3; // K % 3 != 0: a remainder pass
  variants[2].columnTile = 8;
  variants[2].prefetch = 0;
  variants[3].columnTile = 48;
  variants[3].prefetch = 2;
  variants[4].parallel = "columns";
  variants[4].tokenTile = 3;
  variants[4].columnTile = 16;
  variants[5].fuse = false;
  variants[5].hoistWeights = false;
  JITOptions options = variants[GetParam()];
  options.threads = 2;

  MemoryLayerConfig config;
  config.numTables = 10;
  config.bitsPerTable = 6;
  config.outputWidth = 48;
  config.tableType = ElementType::F16;
  config.hasBias = true;
  auto kernel = MemoryLayerKernel::compile(config, options);
  ASSERT_TRUE(static_cast<bool>(kernel)) << llvm::toString(kernel.takeError());
  std::mt19937 rng(7);
  Tables tables = randomTables(10 * 64 * 48, ElementType::F16, rng);
  std::vector<float> bias(48, 0.25f);
  auto prepared =
      (*kernel)->prepare(tables.data(ElementType::F16), bias.data());
  ASSERT_TRUE(static_cast<bool>(prepared));
  ref::MemoryLayerShape shape{10, 6, 48, ref::Weighting::L1Prob, 1.0};
  for (int64_t n : {1, 13, 100}) {
    std::vector<float> x = randomInput(n, 60, rng);
    std::vector<float> y(static_cast<size_t>(n * 48));
    ASSERT_FALSE(
        static_cast<bool>((*kernel)->run(*prepared, x.data(), n, y.data())));
    EXPECT_TRUE(matches(
        y,
        ref::memoryLayer(x.data(), n, tables.values.data(), bias.data(), shape),
        48, 1e-5))
        << "N = " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, MemoryLayerTiling, ::testing::Range(0, 6));

//===----------------------------------------------------------------------===//
// Fusion: a norm folded into the hashing loop, and Q/K/V siblings fused
// into one lookup, against the unfused reference.
//===----------------------------------------------------------------------===//

class MemoryLayerNorm : public ::testing::TestWithParam<LayerNorm> {};

TEST_P(MemoryLayerNorm, FoldedNormMatchesReference) {
  MemoryLayerConfig config;
  config.numTables = 16;
  config.bitsPerTable = 8;
  config.outputWidth = 40;
  config.hasBias = true;
  config.norm = GetParam();
  config.normEpsilon = GetParam() == LayerNorm::RMSNorm ? 1e-8f : 1e-5f;
  auto kernel = MemoryLayerKernel::compile(config, JITOptions());
  ASSERT_TRUE(static_cast<bool>(kernel)) << llvm::toString(kernel.takeError());
  std::mt19937 rng(11);
  Tables tables = randomTables(16 * 256 * 40, ElementType::F32, rng);
  std::vector<float> bias(40, -0.125f), g(128), b(128);
  for (size_t i = 0; i < g.size(); ++i) {
    g[i] = 0.5f + 0.01f * static_cast<float>(i % 17) - (i % 5 == 0 ? 1.0f : 0);
    b[i] = 0.02f * static_cast<float>(i % 7) - 0.06f;
  }
  auto prepared =
      (*kernel)->prepare(tables.values.data(), bias.data(), g.data(), b.data());
  ASSERT_TRUE(static_cast<bool>(prepared));
  int64_t n = 33;
  std::vector<float> x = randomInput(n, 128, rng);
  for (float &v : x)
    v = v * 3.0f + 0.5f; // not already normalized
  std::vector<float> y(static_cast<size_t>(n * 40));
  ASSERT_FALSE(
      static_cast<bool>((*kernel)->run(*prepared, x.data(), n, y.data())));
  std::vector<float> u =
      GetParam() == LayerNorm::RMSNorm
          ? ref::rmsNorm(x.data(), n, 128, g.data(), config.normEpsilon)
          : ref::layerNorm(x.data(), n, 128, g.data(), b.data(),
                           config.normEpsilon);
  ref::MemoryLayerShape shape{16, 8, 40, ref::Weighting::L1Prob, 1.0};
  EXPECT_TRUE(matches(
      y,
      ref::memoryLayer(u.data(), n, tables.values.data(), bias.data(), shape),
      40, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Norms, MemoryLayerNorm,
                         ::testing::Values(LayerNorm::RMSNorm,
                                           LayerNorm::LayerNorm));

/// Q, K and V on one RMS-normalized input, compiled fused (one hashing pass
/// over concatenated tables, norm folded) and unfused. With 64 columns each
/// the fused tables are packed part by part into one layout (column tiles
/// divide every part); with 24, the concatenation is packed whole.
class MemoryLayerSiblings
    : public ::testing::TestWithParam<std::tuple<bool, ElementType, int64_t>> {
};

TEST_P(MemoryLayerSiblings, QKVMatchesReference) {
  auto [fuse, type, h] = GetParam();
  std::string source = R"mlir(
    func.func @qkv(%x: tensor<?x32xf32>, %g: tensor<32xf32> {mnemo.weight},
                   %tq: tensor<8x16x24xf16> {mnemo.weight}, %bq: tensor<24xf32> {mnemo.weight},
                   %tk: tensor<8x16x24xf16> {mnemo.weight},
                   %tv: tensor<8x16x24xf16> {mnemo.weight}, %bv: tensor<24xf32> {mnemo.weight})
        -> (tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>) {
      %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x32xf32>, tensor<32xf32> -> tensor<?x32xf32>
      %q = mnemo.hash_lookup %u, %tq bias %bq weighting<prob> temperature 0.5
          : (tensor<?x32xf32>, tensor<8x16x24xf16>, tensor<24xf32>) -> tensor<?x24xf32>
      %k = mnemo.hash_lookup %u, %tk weighting<prob> temperature 0.5
          : (tensor<?x32xf32>, tensor<8x16x24xf16>) -> tensor<?x24xf32>
      %v = mnemo.hash_lookup %u, %tv bias %bv weighting<prob> temperature 0.5
          : (tensor<?x32xf32>, tensor<8x16x24xf16>, tensor<24xf32>) -> tensor<?x24xf32>
      return %q, %k, %v : tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>
    }
  )mlir";
  // The same layers with tables of the parameter's element type and width.
  auto replaceAll = [&](llvm::StringRef from, const std::string &to) {
    for (size_t at = source.find(from); at != std::string::npos;
         at = source.find(from.str(), at + to.size()))
      source.replace(at, from.size(), to);
  };
  replaceAll("xf16>", "x" + std::string(elementTypeName(type)) + ">");
  replaceAll("24x", std::to_string(h) + "x");
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  JITOptions options;
  options.threads = 2;
  options.fuse = fuse;
  auto compiled = compileModule(*module, options);
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());

  std::mt19937 rng(5);
  const size_t tableSize = 8 * 16 * h;
  Tables tq = randomTables(tableSize, type, rng);
  Tables tk = randomTables(tableSize, type, rng);
  Tables tv = randomTables(tableSize, type, rng);
  std::vector<float> g(32, 1.5f), bq(h, 0.5f), bv(h, -0.25f);
  std::vector<Buffer> weights = {
      {g.data(), {32}},
      {const_cast<void *>(tq.data(type)), {8, 16, h}},
      {bq.data(), {h}},
      {const_cast<void *>(tk.data(type)), {8, 16, h}},
      {const_cast<void *>(tv.data(type)), {8, 16, h}},
      {bv.data(), {h}}};
  auto prepared = (*compiled)->prepareWeights("qkv", weights);
  ASSERT_TRUE(static_cast<bool>(prepared))
      << llvm::toString(prepared.takeError());

  int64_t n = 9;
  std::vector<float> x = randomInput(n, 32, rng);
  std::vector<float> q(n * h), k(n * h), v(n * h);
  std::vector<Buffer> args = {{x.data(), {n, 32}}};
  args.insert(args.end(), weights.begin(), weights.end());
  args.push_back({q.data(), {n, h}});
  args.push_back({k.data(), {n, h}});
  args.push_back({v.data(), {n, h}});
  llvm::Error error = (*compiled)->callPrepared("qkv", args, *prepared);
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));

  std::vector<float> u = ref::rmsNorm(x.data(), n, 32, g.data(), 1e-8);
  ref::MemoryLayerShape shape{8, 4, h, ref::Weighting::Prob, 0.5};
  double tolerance = 1e-5;
  EXPECT_TRUE(matches(
      q, ref::memoryLayer(u.data(), n, tq.values.data(), bq.data(), shape), h,
      tolerance));
  EXPECT_TRUE(matches(
      k, ref::memoryLayer(u.data(), n, tk.values.data(), nullptr, shape), h,
      tolerance));
  EXPECT_TRUE(matches(
      v, ref::memoryLayer(u.data(), n, tv.values.data(), bv.data(), shape), h,
      tolerance));
}

INSTANTIATE_TEST_SUITE_P(
    FusedAndUnfused, MemoryLayerSiblings,
    ::testing::Combine(::testing::Bool(),
                       ::testing::Values(ElementType::F32, ElementType::F16),
                       ::testing::Values(int64_t{24}, int64_t{64})),
    [](const auto &info) {
      return std::string(std::get<0>(info.param) ? "fused_" : "unfused_") +
             std::string(elementTypeName(std::get<1>(info.param))) + "_h" +
             std::to_string(std::get<2>(info.param));
    });

TEST(MemoryLayerConfig, RejectsBadConfigurations) {
  MemoryLayerConfig config;
  config.numTables = 4;
  config.bitsPerTable = 17;
  config.outputWidth = 8;
  EXPECT_EQ(llvm::toString(config.validate()),
            "bits_per_table must be in [1, 16], got 17");
  config.bitsPerTable = 8;
  config.weighting = Weighting::L1Prob;
  config.temperature = 2.0f;
  EXPECT_EQ(llvm::toString(config.validate()),
            "temperature applies to the prob weighting only; l1_prob has none");
  config.weighting = Weighting::Prob;
  config.numTables = 1 << 20;
  config.outputWidth = 1 << 20;
  EXPECT_EQ(llvm::toString(config.validate()),
            "tables of 1048576 x 256 x 1048576 f32 take 1048576.0 GiB, more "
            "than the 64 GiB limit");
}

} // namespace
