//===- MemsizerTest.cpp - Generated Memsizer code vs. the oracle -*- C++
//-*-===//
//
// Memsizer's attention ops (SPEC §3) through -mnemo-lower-memsizer, the CPU
// pipeline and the JIT, against lib/Reference: chunked prefill for several
// chunk sizes (1, 7, 64, the whole prompt, the default) and shapes with
// column tails, split across calls and token by token; the fused decoding
// step of a batch of sequences at different positions; the source memory
// of cross-attention with and without padding, and its read-out.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mnemo/Reference/Reference.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mnemo;
using test::expectClose;
using test::randomVector;

namespace {

constexpr int64_t kHeads = 3;

/// Substitutes K, D and HK (heads * K) in `source`.
std::string shaped(const char *source, int64_t k, int64_t d) {
  return llvm::formatv(source, k, d, kHeads * k).str();
}

// alpha from the logits, then the prefill of `n` tokens continuing the
// state (updated in place, as a model's layer does) from position `start`.
const char *kPrefill = R"mlir(
func.func @prefill(%logits: tensor<?x{2}xf32>, %keys: tensor<?x{0}xf32>,
                   %values: tensor<?x{1}xf32>, %state: memref<{0}x{1}xf32>,
                   %startv: tensor<1xi64>) -> tensor<?x{1}xf32> {{
  %c0 = arith.constant 0 : index
  %s64 = tensor.extract %startv[%c0] : tensor<1xi64>
  %start = arith.index_cast %s64 : i64 to index
  %alpha = mnemo.memsizer_alpha %logits heads 3 : tensor<?x{2}xf32> -> tensor<?x{0}xf32>
  %s0 = bufferization.to_tensor %state restrict : memref<{0}x{1}xf32>
  %y, %s1 = mnemo.memsizer_prefill %alpha, %keys, %values state %s0 at %start scale<rsqrt>
      : tensor<?x{0}xf32>, tensor<?x{0}xf32>, tensor<?x{1}xf32>, tensor<{0}x{1}xf32>
      -> tensor<?x{1}xf32>, tensor<{0}x{1}xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state
      : (tensor<{0}x{1}xf32>, memref<{0}x{1}xf32>) -> ()
  return %y : tensor<?x{1}xf32>
}
)mlir";

struct PrefillCase {
  int64_t chunk; // 0: the pass chooses
  int64_t slots, width;
  /// The GPU kernels' loops compiled for the CPU instead.
  bool gpuKernels = false;
};

class MemsizerPrefill : public ::testing::TestWithParam<PrefillCase> {};

TEST_P(MemsizerPrefill, MatchesReferenceAndStepByStep) {
  const PrefillCase &c = GetParam();
  int64_t chunk = c.chunk, k = c.slots, d = c.width;
  JITOptions options;
  options.threads = 2;
  options.memsizerChunk = chunk;
  options.gpuKernels = c.gpuKernels;
  auto module = test::compileSource(shaped(kPrefill, k, d), options);
  ASSERT_TRUE(module);
  std::mt19937 rng(static_cast<unsigned>(chunk * 131 + k));

  // One call of `t` tokens from `start` on `state`; returns the outputs.
  auto run = [&](const float *logits, const float *keys, const float *values,
                 int64_t t, int64_t start, std::vector<float> &state) {
    std::vector<float> y(static_cast<size_t>(t * d));
    std::vector<int64_t> startv = {start};
    llvm::Error error =
        module->call("prefill", {{const_cast<float *>(logits), {t, kHeads * k}},
                                 {const_cast<float *>(keys), {t, k}},
                                 {const_cast<float *>(values), {t, d}},
                                 {state.data(), {k, d}},
                                 {startv.data(), {1}},
                                 {y.data(), {t, d}}});
    EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    return y;
  };

  for (int64_t t : {1, 7, 64, 130})
    for (int64_t start : {0, 9}) {
      SCOPED_TRACE(llvm::formatv("t = {0}, start = {1}", t, start).str());
      std::vector<float> logits = randomVector(t * kHeads * k, rng, 3);
      std::vector<float> keys = randomVector(t * k, rng);
      std::vector<float> values = randomVector(t * d, rng);
      std::vector<float> initial =
          start == 0 ? std::vector<float>(k * d, 0.0f)
                     : randomVector(k * d, rng, static_cast<float>(start));

      std::vector<float> state = initial;
      std::vector<float> y =
          run(logits.data(), keys.data(), values.data(), t, start, state);
      std::vector<float> alpha =
          ref::memsizerAlpha(logits.data(), t, kHeads, k);
      std::vector<float> expectedState = initial;
      std::vector<float> expected =
          ref::memsizerCausal(alpha.data(), keys.data(), values.data(), t, k, d,
                              expectedState, start, /*scaled=*/true);
      expectClose(y, expected, 1e-5);
      expectClose(state, expectedState, 1e-5);

      // The same tokens one call each, as decoding runs them.
      std::vector<float> stepState = initial, steps;
      for (int64_t i = 0; i < t; ++i) {
        std::vector<float> yi =
            run(logits.data() + i * kHeads * k, keys.data() + i * k,
                values.data() + i * d, 1, start + i, stepState);
        steps.insert(steps.end(), yi.begin(), yi.end());
      }
      expectClose(steps, y, 1e-5);
      expectClose(stepState, state, 1e-5);
    }
}

std::string prefillName(const ::testing::TestParamInfo<PrefillCase> &info) {
  return llvm::formatv("chunk{0}_k{1}_d{2}{3}", info.param.chunk,
                       info.param.slots, info.param.width,
                       info.param.gpuKernels ? "_GPUKernels" : "")
      .str();
}

// d = 40 and 200 leave a narrower last column tile for every vector width;
// chunk 130 holds the whole longest prompt. The GPU kernels keep a memory
// column of up to 64 slots in registers, else in memory.
INSTANTIATE_TEST_SUITE_P(
    Chunks, MemsizerPrefill,
    ::testing::Values(PrefillCase{1, 4, 40}, PrefillCase{7, 4, 40},
                      PrefillCase{64, 4, 40}, PrefillCase{130, 4, 40},
                      PrefillCase{0, 4, 40}, PrefillCase{7, 32, 200},
                      PrefillCase{0, 32, 200}, PrefillCase{0, 4, 40, true},
                      PrefillCase{0, 64, 24, true},
                      PrefillCase{0, 65, 24, true}),
    prefillName);

// The fused decoding step for a batch: a static batch whose new state is a
// result, and a batch of any size updated in place.
const char *kStep = R"mlir(
func.func @step(%alpha: tensor<3x{0}xf32>, %key: tensor<3x{0}xf32>,
                %value: tensor<3x{1}xf32>, %state: tensor<3x{0}x{1}xf32>,
                %count: tensor<3xi64>) -> (tensor<3x{1}xf32>, tensor<3x{0}x{1}xf32>) {{
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<3x{0}xf32>, tensor<3x{0}xf32>, tensor<3x{1}xf32>, tensor<3x{0}x{1}xf32>, tensor<3xi64>
      -> tensor<3x{1}xf32>, tensor<3x{0}x{1}xf32>
  return %y, %s1 : tensor<3x{1}xf32>, tensor<3x{0}x{1}xf32>
}
func.func @step_in_place(%alpha: tensor<?x{0}xf32>, %key: tensor<?x{0}xf32>,
                         %value: tensor<?x{1}xf32>, %state: memref<?x{0}x{1}xf32>,
                         %count: tensor<?xi64>) -> tensor<?x{1}xf32> {{
  %s0 = bufferization.to_tensor %state restrict : memref<?x{0}x{1}xf32>
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %s0 at %count scale<rsqrt>
      : tensor<?x{0}xf32>, tensor<?x{0}xf32>, tensor<?x{1}xf32>, tensor<?x{0}x{1}xf32>, tensor<?xi64>
      -> tensor<?x{1}xf32>, tensor<?x{0}x{1}xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state
      : (tensor<?x{0}x{1}xf32>, memref<?x{0}x{1}xf32>) -> ()
  return %y : tensor<?x{1}xf32>
}
)mlir";

/// The CPU pipeline's step, or the GPU kernels' loops compiled for the CPU.
class MemsizerStep : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Kernels, MemsizerStep, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &info) {
                           return info.param ? "GPUKernels" : "CPU";
                         });

TEST_P(MemsizerStep, BatchMatchesReference) {
  constexpr int64_t k = 8, d = 72, batch = 3;
  JITOptions options;
  options.threads = 2;
  options.gpuKernels = GetParam();
  auto module = test::compileSource(shaped(kStep, k, d), options);
  ASSERT_TRUE(module);
  std::mt19937 rng(5);
  std::vector<float> alpha = randomVector(batch * k, rng);
  std::vector<float> key = randomVector(batch * k, rng);
  std::vector<float> value = randomVector(batch * d, rng);
  std::vector<float> state = randomVector(batch * k * d, rng, 4);
  // Sequences at different positions: 1, 6 and 100 001.
  std::vector<int64_t> count = {0, 5, 100000};

  std::vector<float> expected, expectedState;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<float> s(state.begin() + b * k * d,
                         state.begin() + (b + 1) * k * d);
    std::vector<float> y =
        ref::memsizerCausal(alpha.data() + b * k, key.data() + b * k,
                            value.data() + b * d, 1, k, d, s, count[b]);
    expected.insert(expected.end(), y.begin(), y.end());
    expectedState.insert(expectedState.end(), s.begin(), s.end());
  }

  std::vector<float> y(batch * d), newState(batch * k * d);
  llvm::Error error = module->call("step", {{alpha.data(), {batch, k}},
                                            {key.data(), {batch, k}},
                                            {value.data(), {batch, d}},
                                            {state.data(), {batch, k, d}},
                                            {count.data(), {batch}},
                                            {y.data(), {batch, d}},
                                            {newState.data(), {batch, k, d}}});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  expectClose(y, expected, 1e-5);
  expectClose(newState, expectedState, 1e-5);

  std::vector<float> inPlace = state, yInPlace(batch * d);
  error = module->call("step_in_place", {{alpha.data(), {batch, k}},
                                         {key.data(), {batch, k}},
                                         {value.data(), {batch, d}},
                                         {inPlace.data(), {batch, k, d}},
                                         {count.data(), {batch}},
                                         {yInPlace.data(), {batch, d}}});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  expectClose(yInPlace, expected, 1e-5);
  expectClose(inPlace, expectedState, 1e-5);
}

// The source memory (masked or not) and its read-out by target tokens.
const char *kCross = R"mlir(
func.func @cross(%keys: tensor<?x{0}xf32>, %values: tensor<?x{1}xf32>,
                 %mask: tensor<?xi1>, %alpha: tensor<?x{0}xf32>)
    -> (tensor<{0}x{1}xf32>, tensor<?x{1}xf32>) {{
  %m = mnemo.memsizer_source_memory %keys, %values mask %mask scale<rsqrt>
      : (tensor<?x{0}xf32>, tensor<?x{1}xf32>, tensor<?xi1>) -> tensor<{0}x{1}xf32>
  %y = mnemo.memsizer_cross %alpha, %m : tensor<?x{0}xf32>, tensor<{0}x{1}xf32> -> tensor<?x{1}xf32>
  return %m, %y : tensor<{0}x{1}xf32>, tensor<?x{1}xf32>
}
func.func @cross_unmasked(%keys: tensor<?x{0}xf32>, %values: tensor<?x{1}xf32>)
    -> tensor<{0}x{1}xf32> {{
  %m = mnemo.memsizer_source_memory %keys, %values scale<rsqrt>
      : (tensor<?x{0}xf32>, tensor<?x{1}xf32>) -> tensor<{0}x{1}xf32>
  return %m : tensor<{0}x{1}xf32>
}
func.func @cross_per_row(%alpha: tensor<?x{0}xf32>, %memories: tensor<?x{0}x{1}xf32>)
    -> tensor<?x{1}xf32> {{
  %y = mnemo.memsizer_cross %alpha, %memories : tensor<?x{0}xf32>, tensor<?x{0}x{1}xf32> -> tensor<?x{1}xf32>
  return %y : tensor<?x{1}xf32>
}
)mlir";

TEST(MemsizerCross, MatchesReference) {
  constexpr int64_t k = 32, d = 136, s = 23, t = 5;
  JITOptions options;
  options.threads = 2;
  auto module = test::compileSource(shaped(kCross, k, d), options);
  ASSERT_TRUE(module);
  std::mt19937 rng(9);
  std::vector<float> keys = randomVector(s * k, rng);
  std::vector<float> values = randomVector(s * d, rng);
  std::vector<float> alpha = randomVector(t * k, rng);
  // Pads hold NaN values: excluded rows must not reach the memory.
  std::vector<uint8_t> mask(s);
  for (int64_t i = 0; i < s; ++i) {
    mask[i] = i % 3 != 1;
    if (!mask[i])
      values[i * d] = std::nanf("");
  }
  std::vector<uint8_t> none(s, 0);

  for (const std::vector<uint8_t> *m : {&mask, &none}) {
    std::vector<float> memory(k * d), y(t * d);
    llvm::Error error =
        module->call("cross", {{keys.data(), {s, k}},
                               {values.data(), {s, d}},
                               {const_cast<uint8_t *>(m->data()), {s}},
                               {alpha.data(), {t, k}},
                               {memory.data(), {k, d}},
                               {y.data(), {t, d}}});
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    std::vector<float> expected = ref::memsizerSourceMemory(
        keys.data(), values.data(), m->data(), s, k, d);
    if (m == &none) {
      // No source token: a zero memory, and zero outputs.
      for (float v : memory)
        ASSERT_EQ(v, 0.0f);
      for (float v : y)
        ASSERT_EQ(v, 0.0f);
      continue;
    }
    expectClose(memory, expected, 1e-5);
    expectClose(y, ref::memsizerCross(alpha.data(), t, expected.data(), k, d),
                1e-5);
  }

  for (int64_t i = 0; i < s; ++i)
    values[i * d] = 0.5f;
  std::vector<float> memory(k * d);
  llvm::Error error = module->call("cross_unmasked", {{keys.data(), {s, k}},
                                                      {values.data(), {s, d}},
                                                      {memory.data(), {k, d}}});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  expectClose(
      memory,
      ref::memsizerSourceMemory(keys.data(), values.data(), nullptr, s, k, d),
      1e-5);

  // A decoding batch: one memory per row, or one memory for every row.
  std::vector<float> memories = randomVector(t * k * d, rng);
  for (int64_t count : {t, int64_t{1}}) {
    std::vector<float> y(t * d);
    error = module->call("cross_per_row", {{alpha.data(), {t, k}},
                                           {memories.data(), {count, k, d}},
                                           {y.data(), {t, d}}});
    ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
    for (int64_t row = 0; row < t; ++row) {
      const float *rowMemory = memories.data() + (count == 1 ? 0 : row) * k * d;
      std::vector<float> expected =
          ref::memsizerCross(alpha.data() + row * k, 1, rowMemory, k, d);
      expectClose(
          std::vector<float>(y.begin() + row * d, y.begin() + (row + 1) * d),
          expected, 1e-5);
    }
  }
}

} // namespace
