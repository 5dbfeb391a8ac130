//===- CUDATest.cpp - The CUDA target through the JIT ---------------------===//
//
// The Memory Layer compiled for NVIDIA GPUs (host code calling Mnemo's CUDA
// runtime, PTX kernels embedded) on every machine; run and compared with
// lib/Reference to 1e-5 of each row's largest magnitude where a GPU is
// present. Without a GPU, the same call must fail with the runtime's reason
// and no crash: generated host code never touches device addresses.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mnemo/InitAll.h"
#include "mnemo/JIT/JIT.h"
#include "mnemo/JIT/MemoryLayer.h"
#include "mnemo/Reference/Reference.h"
#include "mnemo/Runtime/CUDA.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <random>

using namespace mnemo;

namespace {

bool haveLibdevice() {
  for (const char *variable : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(variable))
      return llvm::sys::fs::is_directory(std::string(root) + "/nvvm/libdevice");
  return llvm::sys::fs::is_directory("/usr/local/cuda/nvvm/libdevice");
}

JITOptions cudaOptions() {
  JITOptions options;
  options.target = "cuda";
  return options;
}

MemoryLayerConfig layerConfig(int64_t tau, int64_t numTables, int64_t width,
                              ElementType type, Weighting weighting,
                              bool bias) {
  MemoryLayerConfig config;
  config.numTables = numTables;
  config.bitsPerTable = tau;
  config.outputWidth = width;
  config.tableType = type;
  config.weighting = weighting;
  config.hasBias = bias;
  return config;
}

TEST(CUDA, CompilesTheMemoryLayer) {
  if (!haveLibdevice())
    GTEST_SKIP() << "no CUDA toolkit (libdevice) on this machine";
  auto kernel = MemoryLayerKernel::compile(
      layerConfig(8, 4, 64, ElementType::F16, Weighting::Prob, true),
      cudaOptions());
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
}

TEST(CUDA, RefusesAFoldedNorm) {
  MemoryLayerConfig config =
      layerConfig(4, 4, 16, ElementType::F32, Weighting::Prob, false);
  config.norm = LayerNorm::RMSNorm;
  auto kernel = MemoryLayerKernel::compile(config, cudaOptions());
  ASSERT_FALSE(bool(kernel));
  EXPECT_EQ(llvm::toString(kernel.takeError()),
            "a norm folded into the layer is not generated for the cuda "
            "target; run the norm as its own op");
}

TEST(CUDA, TokenTileOfTheGPUKernelsIsBounded) {
  JITOptions options = cudaOptions();
  options.tokenTile = 65;
  EXPECT_EQ(llvm::toString(options.validate()),
            "token tile of the GPU kernels must lie in [0, 64] (0: choose), "
            "got 65");
  options.tokenTile = 64;
  EXPECT_FALSE(bool(options.validate()));
  options.target = "cpu";
  options.tokenTile = 65;
  EXPECT_FALSE(bool(options.validate())) << "the CPU's tiles are not bounded";
  options.gpuKernels = true;
  EXPECT_EQ(llvm::toString(options.validate()),
            "token tile of the GPU kernels must lie in [0, 64] (0: choose), "
            "got 65");
}

TEST(CUDA, CallWithoutAGPUFailsCleanly) {
  if (!haveLibdevice())
    GTEST_SKIP() << "no CUDA toolkit (libdevice) on this machine";
  llvm::Error available = cuda::initialize();
  if (!available) {
    GTEST_SKIP() << "a GPU is present: MemoryLayerOnGPU runs instead";
  }
  std::string why = llvm::toString(std::move(available));
  auto kernel = MemoryLayerKernel::compile(
      layerConfig(2, 2, 8, ElementType::F32, Weighting::L1Prob, false),
      cudaOptions());
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  // Host pointers where device addresses belong: nothing may touch them.
  std::vector<float> x(3 * 4), tables(2 * 4 * 8), y(3 * 8, 7.0f);
  auto prepared = (*kernel)->prepare(tables.data(), nullptr);
  ASSERT_TRUE(bool(prepared)) << llvm::toString(prepared.takeError());
  llvm::Error error = (*kernel)->run(*prepared, x.data(), 3, y.data());
  ASSERT_TRUE(bool(error));
  EXPECT_EQ(llvm::toString(std::move(error)), "@layer on the GPU: " + why);
  for (float v : y)
    EXPECT_EQ(v, 7.0f);
}

TEST(CUDA, DeviceCopies) {
  std::vector<float> values = {1.0f, -2.0f, 3.5f, 0.25f, -0.0f, 7.0f};
  size_t bytes = values.size() * sizeof(float);
  if (llvm::Error missing = cuda::initialize()) {
    // Without a GPU every copy fails with the runtime's reason.
    std::string why = llvm::toString(std::move(missing));
    float host[6] = {};
    void *nowhere = reinterpret_cast<void *>(uintptr_t{1} << 40);
    EXPECT_EQ(llvm::toString(cuda::copyToDevice(nowhere, host, 4)), why);
    EXPECT_EQ(llvm::toString(cuda::copyToHost(host, nowhere, 4)), why);
    EXPECT_EQ(llvm::toString(cuda::copyOnDevice(nowhere, nowhere, 4)), why);
    EXPECT_EQ(llvm::toString(cuda::zeroOnDevice(nowhere, 4)), why);
    // Nothing to copy is no call at all.
    EXPECT_FALSE(bool(cuda::copyToDevice(nowhere, host, 0)));
    return;
  }
  auto a = cuda::DeviceBuffer::copyOf(values.data(), bytes);
  auto b = cuda::DeviceBuffer::allocate(bytes);
  ASSERT_TRUE(a && b);
  // b = a shifted by one float, its first float zeroed.
  ASSERT_FALSE(bool(cuda::copyOnDevice(static_cast<float *>(b->data()) + 1,
                                       a->data(), bytes - 4)));
  ASSERT_FALSE(bool(cuda::zeroOnDevice(b->data(), 4)));
  std::vector<float> back(values.size(), 9.0f);
  ASSERT_FALSE(bool(cuda::copyToHost(back.data(), b->data(), bytes)));
  EXPECT_EQ(back, (std::vector<float>{0.0f, 1.0f, -2.0f, 3.5f, 0.25f, -0.0f}));
}

struct GPUCase {
  int64_t tau, numTables, width;
  ElementType type;
  Weighting weighting;
  bool bias;
  /// Tokens per thread of the gather; 0: the compiler's choice.
  int64_t tokenTile = 0;
  /// Below this many gather threads the tables are split across threads;
  /// -1: the pipeline's default (4096), 0: never.
  int64_t splitTablesBelow = -1;
};

/// Where the operands of a call live: device memory on a GPU, else the
/// host (the GPU kernels' loops compiled for the CPU).
class Operands {
public:
  explicit Operands(bool onGPU) : onGPU(onGPU) {}

  /// A copy of `bytes` bytes at `host` where the kernel reads it.
  void *place(const void *host, size_t bytes) {
    if (!onGPU) {
      auto &copy = hostCopies.emplace_back(bytes);
      std::memcpy(copy.data(), host, bytes);
      return copy.data();
    }
    auto buffer = cuda::DeviceBuffer::allocate(std::max<size_t>(bytes, 1));
    EXPECT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
    if (!buffer)
      return nullptr;
    EXPECT_FALSE(bool(buffer->upload(host, bytes)));
    deviceCopies.push_back(std::move(*buffer));
    return deviceCopies.back().data();
  }
  /// `bytes` bytes from `at` (returned by `place`) into `host`.
  void fetch(const void *at, void *host, size_t bytes) {
    if (!onGPU) {
      std::memcpy(host, at, bytes);
      return;
    }
    for (cuda::DeviceBuffer &buffer : deviceCopies)
      if (buffer.data() == at)
        EXPECT_FALSE(bool(buffer.download(host, bytes)));
  }

private:
  bool onGPU;
  std::deque<std::vector<char>> hostCopies;
  std::deque<cuda::DeviceBuffer> deviceCopies;
};

/// Compiles the case's layer with `options`, runs it on N = 1, 7, 64 and
/// 2049 tokens (zeros and -0.0 among the inputs) and compares every output
/// with lib/Reference to 1e-5 of its row's largest magnitude (f16 and bf16
/// tables are rounded first, so they are exact inputs of both sides).
void checkSweep(const GPUCase &c, JITOptions options, bool onGPU) {
  options.tokenTile = c.tokenTile;
  options.splitTablesBelow = c.splitTablesBelow;
  auto kernel = MemoryLayerKernel::compile(
      layerConfig(c.tau, c.numTables, c.width, c.type, c.weighting, c.bias),
      options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  std::mt19937 rng(static_cast<unsigned>(c.tau * 1000 + c.numTables));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  size_t count = static_cast<size_t>(c.numTables << c.tau) * c.width;
  std::vector<float> values(count);
  for (float &v : values)
    v = uniform(rng);
  std::vector<uint16_t> narrow = test::storeAs(c.type, values);
  std::vector<float> bias(static_cast<size_t>(c.width));
  for (float &v : bias)
    v = uniform(rng);
  Operands operands(onGPU);
  void *tables = operands.place(c.type == ElementType::F32
                                    ? static_cast<const void *>(values.data())
                                    : narrow.data(),
                                count * elementBytes(c.type));
  void *deviceBias = operands.place(bias.data(), bias.size() * sizeof(float));
  ASSERT_TRUE(tables && deviceBias);
  auto prepared = (*kernel)->prepare(
      tables, c.bias ? static_cast<const float *>(deviceBias) : nullptr);
  ASSERT_TRUE(bool(prepared)) << llvm::toString(prepared.takeError());
  ref::MemoryLayerShape shape{c.numTables, c.tau, c.width, c.weighting, 1.0};
  int64_t d = c.numTables * c.tau;
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{2049}}) {
    std::vector<float> x(static_cast<size_t>(n * d));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = i % 13 == 0 ? 0.0f : i % 17 == 0 ? -0.0f : normal(rng);
    std::vector<float> y(static_cast<size_t>(n * c.width), 7.0f);
    void *deviceX = operands.place(x.data(), x.size() * sizeof(float));
    void *deviceY = operands.place(y.data(), y.size() * sizeof(float));
    ASSERT_TRUE(deviceX && deviceY);
    llvm::Error error =
        (*kernel)->run(*prepared, static_cast<const float *>(deviceX), n,
                       static_cast<float *>(deviceY));
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    operands.fetch(deviceY, y.data(), y.size() * sizeof(float));
    std::vector<float> expected = ref::memoryLayer(
        x.data(), n, values.data(), c.bias ? bias.data() : nullptr, shape);
    for (int64_t row = 0; row < n; ++row) {
      double scale = 1e-30;
      for (int64_t col = 0; col < c.width; ++col)
        scale =
            std::max(scale, std::fabs(double(expected[row * c.width + col])));
      for (int64_t col = 0; col < c.width; ++col) {
        size_t i = static_cast<size_t>(row * c.width + col);
        ASSERT_NEAR(y[i], expected[i], 1e-5 * scale)
            << "N " << n << " row " << row << " column " << col;
      }
    }
  }
}

/// Table geometries whose widths give rows of 1, 2, 4 and 8 lanes per
/// vector load, token tiles that do and do not divide N, tau from 1 to 16;
/// tables split across threads for few tokens (by default: K = 16 below
/// N = 2049, K = 12 in chunks of 6, K = 11 and 17 in chunks of 1, the
/// 17 chunks summed in a loop), always (K = 32) or never (K = 24).
const GPUCase kSweep[] = {
    {1, 3, 16, ElementType::F32, Weighting::Prob, true},
    {2, 8, 40, ElementType::F32, Weighting::L1Prob, false},
    {4, 4, 6, ElementType::F32, Weighting::Prob, true, 3},
    {7, 5, 64, ElementType::F16, Weighting::Prob, false},
    {8, 16, 128, ElementType::F16, Weighting::L1Prob, true},
    {8, 6, 12, ElementType::BF16, Weighting::Prob, true, 5},
    {10, 3, 33, ElementType::F16, Weighting::L1Prob, true, 1},
    {13, 2, 24, ElementType::F32, Weighting::Prob, true},
    {16, 1, 8, ElementType::F16, Weighting::L1Prob, false, 16},
    {3, 12, 20, ElementType::F32, Weighting::L1Prob, true},
    {2, 11, 9, ElementType::BF16, Weighting::Prob, false},
    {2, 32, 16, ElementType::F16, Weighting::L1Prob, true, 4, int64_t{1} << 40},
    {4, 24, 64, ElementType::F16, Weighting::Prob, true, 0, 0},
    {1, 17, 8, ElementType::F32, Weighting::Prob, true},
};

class MemoryLayerOnGPU : public ::testing::TestWithParam<GPUCase> {};

TEST_P(MemoryLayerOnGPU, MatchesTheReference) {
  if (llvm::Error error = cuda::initialize())
    GTEST_SKIP() << "no GPU: " << llvm::toString(std::move(error));
  checkSweep(GetParam(), cudaOptions(), /*onGPU=*/true);
}

INSTANTIATE_TEST_SUITE_P(Sweep, MemoryLayerOnGPU, ::testing::ValuesIn(kSweep));

/// The same kernels' loops compiled for the CPU: their arithmetic (the
/// token tiles, clamped tails, lanes per row load) checked on every
/// machine.
class MemoryLayerGPUKernelsOnCPU : public ::testing::TestWithParam<GPUCase> {};

TEST_P(MemoryLayerGPUKernelsOnCPU, MatchesTheReference) {
  JITOptions options;
  options.gpuKernels = true;
  options.threads = 2;
  checkSweep(GetParam(), options, /*onGPU=*/false);
}

INSTANTIATE_TEST_SUITE_P(Sweep, MemoryLayerGPUKernelsOnCPU,
                         ::testing::ValuesIn(kSweep));

/// Three sibling lookups (the same input hashed the same way, tables of one
/// type: lowered together, one hash and gathers side by side, each thread
/// picking its lookup's operands) and a fourth hashing differently: every
/// output matches its own lookup in lib/Reference, on N = 1, 7, 64 and 2049
/// tokens, with tables split across threads (K = 16 in two chunks) for few
/// tokens and not for many, on the CPU and, where there is one, the GPU.
/// Rows of 6 f32: 3 column groups of 2 lanes per lookup.
const char *kSiblingSource = R"mlir(
  func.func @siblings(%x: tensor<?x32xf32>,
                      %t0: tensor<16x4x6xf32> {mnemo.weight},
                      %t1: tensor<16x4x6xf32> {mnemo.weight},
                      %t2: tensor<16x4x6xf32> {mnemo.weight})
      -> (tensor<?x6xf32>, tensor<?x6xf32>, tensor<?x6xf32>, tensor<?x6xf32>) {
    %a = mnemo.hash_lookup %x, %t0 weighting<prob> temperature 0.5
        : (tensor<?x32xf32>, tensor<16x4x6xf32>) -> tensor<?x6xf32>
    %b = mnemo.hash_lookup %x, %t1 weighting<prob> temperature 0.5
        : (tensor<?x32xf32>, tensor<16x4x6xf32>) -> tensor<?x6xf32>
    %c = mnemo.hash_lookup %x, %t2 weighting<prob> temperature 1.0
        : (tensor<?x32xf32>, tensor<16x4x6xf32>) -> tensor<?x6xf32>
    %d = mnemo.hash_lookup %x, %t2 weighting<prob> temperature 0.5
        : (tensor<?x32xf32>, tensor<16x4x6xf32>) -> tensor<?x6xf32>
    return %a, %b, %c, %d
        : tensor<?x6xf32>, tensor<?x6xf32>, tensor<?x6xf32>, tensor<?x6xf32>
  }
)mlir";

void checkSiblings(JITOptions options, bool onGPU) {
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module =
      mlir::parseSourceString<mlir::ModuleOp>(kSiblingSource, &context);
  ASSERT_TRUE(module);
  auto compiled = compileModule(*module, options);
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  constexpr int64_t kTables = 16, kTau = 2, kWidth = 6, kD = kTables * kTau;
  size_t count = static_cast<size_t>(kTables << kTau) * kWidth;
  Operands operands(onGPU);
  std::vector<std::vector<float>> tables(3, std::vector<float>(count));
  std::vector<void *> placed;
  for (std::vector<float> &t : tables) {
    for (float &v : t)
      v = uniform(rng);
    placed.push_back(operands.place(t.data(), count * sizeof(float)));
  }
  // Each result: its tables and temperature.
  const int tableOf[4] = {0, 1, 2, 2};
  const double temperatureOf[4] = {0.5, 0.5, 1.0, 0.5};
  std::vector<int64_t> tableShape = {kTables, 1 << kTau, kWidth};
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{2049}}) {
    std::vector<float> x(static_cast<size_t>(n * kD));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = i % 13 == 0 ? 0.0f : i % 17 == 0 ? -0.0f : normal(rng);
    void *deviceX = operands.place(x.data(), x.size() * sizeof(float));
    std::vector<float> y(static_cast<size_t>(n * kWidth), 7.0f);
    std::vector<void *> outputs;
    for (int r = 0; r < 4; ++r)
      outputs.push_back(operands.place(y.data(), y.size() * sizeof(float)));
    std::vector<Buffer> args = {{deviceX, {n, kD}}};
    for (void *t : placed)
      args.push_back({t, tableShape});
    for (void *out : outputs)
      args.push_back({out, {n, kWidth}});
    llvm::Error error = (*compiled)->call("siblings", args);
    ASSERT_FALSE(bool(error)) << llvm::toString(std::move(error));
    for (int r = 0; r < 4; ++r) {
      operands.fetch(outputs[r], y.data(), y.size() * sizeof(float));
      ref::MemoryLayerShape shape{kTables, kTau, kWidth, Weighting::Prob,
                                  temperatureOf[r]};
      std::vector<float> expected = ref::memoryLayer(
          x.data(), n, tables[tableOf[r]].data(), nullptr, shape);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], expected[i], 1e-5 * (1.0 + std::fabs(expected[i])))
            << "result " << r << " N " << n << " element " << i;
    }
  }
}

TEST(SiblingLookups, GPUKernelsOnCPU) {
  JITOptions options;
  options.gpuKernels = true;
  options.threads = 2;
  checkSiblings(options, /*onGPU=*/false);
}

TEST(SiblingLookups, OnGPU) {
  if (llvm::Error error = cuda::initialize())
    GTEST_SKIP() << "no GPU: " << llvm::toString(std::move(error));
  checkSiblings(cudaOptions(), /*onGPU=*/true);
}

} // namespace
