//===- RuntimeOpsTest.cpp - Library-backed ops vs. the oracle ---*- C++ -*-===//
//
// The ops that -mnemo-lower-to-runtime turns into kernel calls (embedding,
// linear, rotary, causal attention), compiled through the whole CPU
// pipeline and the JIT, against lib/Reference; and the same ops as the GPU
// kernels' loop nests (-mnemo-lower-gpu-kernels) compiled for the CPU.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mnemo/Reference/Reference.h"
#include "mnemo/Runtime/Kernels.h"
#include "mnemo/Support/Float16.h"

#include <cmath>
#include <random>

using namespace mnemo;

namespace {

using test::expectClose;

/// How the ops are compiled: the CPU pipeline (runtime kernels), or the
/// GPU kernels' loops for the CPU, with attention's scores in scratch (all
/// queries at once, or in chunks of 3 with a scratch of 1000 scores), or
/// (attention-scores=0) one thread per (head, query).
enum class Kernels { Runtime, GPU, GPUQueryChunks, GPUWithoutScores };

std::shared_ptr<const CompiledModule>
compile(const char *source, Kernels kernels = Kernels::Runtime) {
  JITOptions options;
  options.threads = 2;
  options.gpuKernels = kernels != Kernels::Runtime;
  if (kernels == Kernels::GPUQueryChunks)
    options.attentionScores = 1000;
  if (kernels == Kernels::GPUWithoutScores)
    options.attentionScores = 0;
  return test::compileSource(source, options);
}

std::vector<float> random(size_t count, std::mt19937 &rng, float scale = 1) {
  return test::randomVector(count, rng, scale);
}

// Embedding (f16), a fused QKV projection, rotary on Q and K at positions
// start..start+n-1, attention of the n queries over m = start + n keys
// (the first `start` keys given), and a residual addition.
const char *kBlock = R"mlir(
func.func @block(%ids: tensor<?xi64>, %pos: tensor<?xi64>,
                 %kprev: tensor<?x16xf32>, %vprev: tensor<?x16xf32>,
                 %emb: tensor<100x16xf16>, %w: tensor<48x16xf32>,
                 %b: tensor<48xf32>) -> (tensor<?x16xf32>, tensor<?x48xf32>) {
  %x = mnemo.embedding %emb[%ids] : tensor<100x16xf16>, tensor<?xi64> -> tensor<?x16xf32>
  %qkv = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<48x16xf32>, tensor<48xf32>) -> tensor<?x48xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x16xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x48xf32> to tensor<?x16xf32>
  %k = tensor.extract_slice %qkv[0, 16] [%n, 16] [1, 1] : tensor<?x48xf32> to tensor<?x16xf32>
  %v = tensor.extract_slice %qkv[0, 32] [%n, 16] [1, 1] : tensor<?x48xf32> to tensor<?x16xf32>
  %qr = mnemo.rotary %q, %pos heads 2 dims 4 base 1.000000e+04 : tensor<?x16xf32>, tensor<?xi64> -> tensor<?x16xf32>
  %kr = mnemo.rotary %k, %pos heads 2 dims 4 base 1.000000e+04 : tensor<?x16xf32>, tensor<?xi64> -> tensor<?x16xf32>
  %kall = tensor.concat dim(0) %kprev, %kr : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  %vall = tensor.concat dim(0) %vprev, %v : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  %o = mnemo.causal_attention %qr, %kall, %vall heads 2 scale 0.353553385 : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  %y = arith.addf %o, %x : tensor<?x16xf32>
  return %y, %qkv : tensor<?x16xf32>, tensor<?x48xf32>
}
)mlir";

class RuntimeOpsBlock : public ::testing::TestWithParam<
                            std::tuple<std::pair<int, int>, Kernels>> {};

TEST_P(RuntimeOpsBlock, MatchesReference) {
  auto [shape, kernels] = GetParam();
  auto [start, n] = shape;
  auto module = compile(kBlock, kernels);
  ASSERT_TRUE(module);
  std::mt19937 rng(11);
  std::vector<uint16_t> embHalf(100 * 16);
  std::vector<float> emb(100 * 16);
  for (size_t i = 0; i < emb.size(); ++i) {
    embHalf[i] = floatToHalf(random(1, rng)[0]);
    emb[i] = halfToFloat(embHalf[i]);
  }
  std::vector<float> w = random(48 * 16, rng, 0.25f), b = random(48, rng);
  std::vector<int64_t> ids(n), pos(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = (i * 37 + 5) % 100;
    pos[i] = start + i;
  }
  std::vector<float> kprev = random(start * 16, rng),
                     vprev = random(start * 16, rng);
  std::vector<float> y(n * 16), qkv(n * 48);
  llvm::Error error = module->call("block", {{ids.data(), {n}},
                                             {pos.data(), {n}},
                                             {kprev.data(), {start, 16}},
                                             {vprev.data(), {start, 16}},
                                             {embHalf.data(), {100, 16}},
                                             {w.data(), {48, 16}},
                                             {b.data(), {48}},
                                             {y.data(), {n, 16}},
                                             {qkv.data(), {n, 48}}});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));

  // The oracle, step by step.
  std::vector<float> x(n * 16);
  for (int i = 0; i < n; ++i)
    std::copy(emb.begin() + ids[i] * 16, emb.begin() + ids[i] * 16 + 16,
              x.begin() + i * 16);
  std::vector<float> expectedQkv =
      ref::linear(x.data(), n, 16, w.data(), b.data(), 48);
  expectClose(qkv, expectedQkv, 1e-5);
  std::vector<float> q(n * 16), kall(kprev), vall(vprev);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 16; ++c) {
      q[i * 16 + c] = expectedQkv[i * 48 + c];
      kall.push_back(expectedQkv[i * 48 + 16 + c]);
      vall.push_back(expectedQkv[i * 48 + 32 + c]);
    }
  ref::rotary(q.data(), n, 2, 8, 4, 10000.0, pos.data());
  ref::rotary(kall.data() + start * 16, n, 2, 8, 4, 10000.0, pos.data());
  std::vector<float> o = ref::causalAttention(
      q.data(), n, kall.data(), vall.data(), start + n, 2, 8, 0.353553385);
  for (size_t i = 0; i < o.size(); ++i)
    o[i] += x[i];
  expectClose(y, o, 1e-5);
}

std::string
shapeName(const ::testing::TestParamInfo<RuntimeOpsBlock::ParamType> &info) {
  const auto &[shape, kernels] = info.param;
  const char *how = kernels == Kernels::Runtime ? "_Runtime"
                    : kernels == Kernels::GPU   ? "_GPUKernels"
                    : kernels == Kernels::GPUQueryChunks
                        ? "_GPUKernelsChunked"
                        : "_GPUKernelsWithoutScores";
  return "start" + std::to_string(shape.first) + "_n" +
         std::to_string(shape.second) + how;
}

// Prefill from scratch, a prompt continuing a cache (with a tail past a
// 128-query block, and past a tile of 8 rows), and one decoded token; the
// runtime's kernels and the GPU kernels' loops (both ways of attention).
INSTANTIATE_TEST_SUITE_P(
    Shapes, RuntimeOpsBlock,
    ::testing::Combine(
        ::testing::Values(std::make_pair(0, 1), std::make_pair(0, 7),
                          std::make_pair(5, 130), std::make_pair(40, 1)),
        ::testing::Values(Kernels::Runtime, Kernels::GPU,
                          Kernels::GPUQueryChunks, Kernels::GPUWithoutScores)),
    shapeName);

/// `mnemo.linear` alone, for input widths whose rows are read 4, 2 and 1
/// values at a time by the GPU kernel (16, 6 and 7), with and without a
/// bias, on row counts around its tiles of 8 rows, against the oracle. The
/// GPU kernel splits the dot products across threads below `splitBelow`
/// threads of (row tile, output): with the default, on every row count
/// here (in 4, 3 and 7 spans); never with 0; and with 10, on 1 row (5
/// threads) but not on 9 or 17 (10 and 15). Weights stored in f16 and bf16
/// are generated code on the CPU (-mnemo-lower-linear: blocks of 4 output
/// rows, so 5 outputs leave a partial block; rows of whole vectors and a
/// narrower tail at 8 and 16 lanes: 7, 16, 37 and 512 values), checked
/// against the oracle on the weights as the 16-bit values decode.
struct LinearCase {
  int64_t in;
  bool bias;
  bool gpuKernels;
  int64_t splitBelow = -1;
  ElementType weight = ElementType::F32;
};

class LinearOfAnyWidth : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearOfAnyWidth, MatchesReference) {
  const LinearCase &c = GetParam();
  const int64_t out = 5;
  std::string in = std::to_string(c.in);
  std::string weightType =
      "tensor<5x" + in + "x" + elementTypeName(c.weight) + ">";
  std::string source =
      "func.func @f(%x: tensor<?x" + in + "xf32>, %w: " + weightType +
      (c.bias ? ", %b: tensor<5xf32>" : "") +
      ") -> tensor<?x5xf32> {\n  %y = mnemo.linear %x, %w" +
      (c.bias ? " bias %b" : "") + " : (tensor<?x" + in + "xf32>, " +
      weightType + (c.bias ? ", tensor<5xf32>" : "") +
      ") -> tensor<?x5xf32>\n  return %y : tensor<?x5xf32>\n}\n";
  JITOptions options;
  options.threads = 2;
  options.gpuKernels = c.gpuKernels;
  options.splitTablesBelow = c.splitBelow;
  auto module = test::compileSource(source.c_str(), options);
  ASSERT_TRUE(module);
  std::mt19937 rng(static_cast<unsigned>(c.in));
  std::vector<float> w = random(out * c.in, rng), b = random(out, rng);
  // 16-bit weights: the kernel's buffer, and the values it stands for.
  std::vector<uint16_t> narrow = test::storeAs(c.weight, w);
  void *weights = c.weight == ElementType::F32 ? static_cast<void *>(w.data())
                                               : narrow.data();
  auto call = [&](const float *x, int64_t n, float *y) {
    std::vector<Buffer> args = {{const_cast<float *>(x), {n, c.in}},
                                {weights, {out, c.in}}};
    if (c.bias)
      args.push_back({b.data(), {out}});
    args.push_back({y, {n, out}});
    llvm::Error error = module->call("f", args);
    EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  };
  for (int64_t n : {1, 4, 9, 17}) {
    std::vector<float> x = random(n * c.in, rng), y(n * out, 7.0f);
    call(x.data(), n, y.data());
    expectClose(y,
                ref::linear(x.data(), n, c.in, w.data(),
                            c.bias ? b.data() : nullptr, out),
                1e-5);
    // The generated code (16-bit weights) computes each token's outputs in
    // the same order whether the token is in a group or alone: bit for bit
    // the same as the token on its own.
    if (c.weight == ElementType::F32 || c.gpuKernels)
      continue;
    for (int64_t token = 0; token < n; ++token) {
      std::vector<float> alone(out, 7.0f);
      call(&x[token * c.in], 1, alone.data());
      for (int64_t o = 0; o < out; ++o)
        EXPECT_EQ(alone[o], y[token * out + o]) << "token " << token;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Widths, LinearOfAnyWidth,
    ::testing::Values(LinearCase{16, true, true}, LinearCase{6, false, true},
                      LinearCase{7, true, true}, LinearCase{16, true, true, 0},
                      LinearCase{7, false, true, 0},
                      LinearCase{16, false, true, 10},
                      LinearCase{7, true, true, 10},
                      LinearCase{7, false, false},
                      LinearCase{7, true, false, -1, ElementType::F16},
                      LinearCase{16, false, false, -1, ElementType::F16},
                      LinearCase{37, true, false, -1, ElementType::BF16},
                      LinearCase{512, true, false, -1, ElementType::F16},
                      LinearCase{512, false, false, -1, ElementType::BF16},
                      LinearCase{37, true, true, -1, ElementType::F16},
                      LinearCase{16, false, true, 0, ElementType::BF16}));

/// RMSNorm and LayerNorm against the oracle, both ways of compiling, on 1
/// and 9 rows, of widths whose rows the GPU kernels split in 2, 3 and 32
/// parts across threads (16, 24, 640: parts of at least 8 elements, the
/// parts' statistics combined per row) or sum in one thread, in 2 and 1
/// interleaved chains (6, 7).
class NormsOfAnyWidth
    : public ::testing::TestWithParam<std::tuple<int64_t, bool>> {};

TEST_P(NormsOfAnyWidth, MatchesReference) {
  auto [d, gpuKernels] = GetParam();
  std::string w = std::to_string(d);
  std::string type = "tensor<?x" + w + "xf32>", vec = "tensor<" + w + "xf32>";
  std::string source =
      "func.func @f(%x: " + type + ", %g: " + vec + ", %b: " + vec + ") -> (" +
      type + ", " + type + ") {\n" +
      "  %r = mnemo.rms_norm %x, %g eps 1.0e-5 : " + type + ", " + vec +
      " -> " + type + "\n" +
      "  %l = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : " + type + ", " + vec +
      ", " + vec + " -> " + type + "\n  return %r, %l : " + type + ", " + type +
      "\n}\n";
  auto module =
      compile(source.c_str(), gpuKernels ? Kernels::GPU : Kernels::Runtime);
  ASSERT_TRUE(module);
  std::mt19937 rng(static_cast<unsigned>(d));
  std::vector<float> g = random(d, rng), b = random(d, rng);
  for (int64_t n : {1, 9}) {
    // Rows with a large common offset: a one-pass variance would lose it.
    std::vector<float> x = random(n * d, rng);
    for (float &v : x)
      v += 3.0f;
    std::vector<float> r(n * d), l(n * d);
    llvm::Error error = module->call("f", {{x.data(), {n, d}},
                                           {g.data(), {d}},
                                           {b.data(), {d}},
                                           {r.data(), {n, d}},
                                           {l.data(), {n, d}}});
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    expectClose(r, ref::rmsNorm(x.data(), n, d, g.data(), 1e-5), 1e-5);
    expectClose(l, ref::layerNorm(x.data(), n, d, g.data(), b.data(), 1e-5),
                1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, NormsOfAnyWidth,
                         ::testing::Combine(::testing::Values(16, 6, 7, 24,
                                                              640),
                                            ::testing::Bool()));

// The attention kernel called directly, against the oracle: head widths
// with every column path (64-wide, 8-wide and single columns), key counts
// that are not whole tiles, few queries (dot products of key rows) and
// many (transposed keys), with and without the causal mask, on rows that
// are slices of a wider matrix (as Q, K and V are of a fused projection).
/// A row-major `rows x cols` descriptor over `data` with row stride `stride`.
StridedMemRefType<float, 2> matrixView(float *data, int64_t rows, int64_t cols,
                                       int64_t stride) {
  return {data, data, 0, {rows, cols}, {stride, 1}};
}

struct AttentionShape {
  int64_t heads, headDim, keys, queries;
  bool causal;
};

class AttentionKernel : public ::testing::TestWithParam<AttentionShape> {};

TEST_P(AttentionKernel, MatchesReference) {
  auto [heads, headDim, m, n, causal] = GetParam();
  int64_t width = heads * headDim, stride = 3 * width;
  std::mt19937 rng(7);
  // [q | k | v] rows: m of them for keys and values, the last n for queries.
  std::vector<float> qkv = random(m * stride, rng, 2.0f);
  std::vector<float> q(n * width), k(m * width), v(m * width);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < width; ++c) {
      k[i * width + c] = qkv[i * stride + width + c];
      v[i * width + c] = qkv[i * stride + 2 * width + c];
      if (i >= m - n)
        q[(i - m + n) * width + c] = qkv[i * stride + c];
    }
  auto qRef = matrixView(qkv.data() + (m - n) * stride, n, width, stride);
  auto kRef = matrixView(qkv.data() + width, m, width, stride);
  auto vRef = matrixView(qkv.data() + 2 * width, m, width, stride);
  // The output is a slice too; the columns beside it must stay untouched.
  std::vector<float> out(n * (width + 3), -7.0f);
  auto outRef = matrixView(out.data(), n, width, width + 3);
  float scale = 1.0f / std::sqrt(static_cast<float>(headDim));
  if (causal)
    _mlir_ciface_mnemo_causal_attention(&qRef, &kRef, &vRef, &outRef, heads,
                                        scale);
  else
    _mlir_ciface_mnemo_attention(&qRef, &kRef, &vRef, &outRef, heads, scale);

  std::vector<float> expected = ref::causalAttention(
      q.data(), n, k.data(), v.data(), m, heads, headDim, scale, causal);
  std::vector<float> actual(n * width);
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(out.begin() + i * (width + 3), width,
                actual.begin() + i * width);
    for (int64_t c = width; c < width + 3; ++c)
      ASSERT_EQ(out[i * (width + 3) + c], -7.0f) << "row " << i;
  }
  expectClose(actual, expected, 1e-5);
}

// A NaN score is not masked away: the rows that see a NaN key give NaN,
// the rows before it (causal) do not; on both ways of computing scores.
TEST(AttentionKernel, NaNKeyPropagates) {
  for (int64_t n : {2, 20}) {
    int64_t m = n, width = 8;
    std::mt19937 rng(3);
    std::vector<float> q = random(n * width, rng), k = random(m * width, rng),
                       v = random(m * width, rng), out(n * width);
    k[(m - 1) * width + 2] = NAN; // the last key: only the last query sees it
    auto qRef = matrixView(q.data(), n, width, width);
    auto kRef = matrixView(k.data(), m, width, width);
    auto vRef = matrixView(v.data(), m, width, width);
    auto outRef = matrixView(out.data(), n, width, width);
    _mlir_ciface_mnemo_causal_attention(&qRef, &kRef, &vRef, &outRef, 1, 0.5f);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < width; ++c)
        EXPECT_EQ(std::isnan(out[i * width + c]), i == n - 1)
            << "n " << n << " row " << i << " column " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionKernel,
    ::testing::Values(AttentionShape{2, 76, 130, 130, true},
                      AttentionShape{3, 64, 200, 5, true},
                      AttentionShape{1, 13, 70, 1, true},
                      AttentionShape{4, 16, 64, 17, true},
                      AttentionShape{2, 72, 45, 33, false},
                      AttentionShape{8, 9, 100, 3, false}),
    [](const ::testing::TestParamInfo<AttentionShape> &info) {
      const AttentionShape &s = info.param;
      return "h" + std::to_string(s.heads) + "_d" + std::to_string(s.headDim) +
             "_m" + std::to_string(s.keys) + "_n" + std::to_string(s.queries) +
             (s.causal ? "_causal" : "_full");
    });

} // namespace
