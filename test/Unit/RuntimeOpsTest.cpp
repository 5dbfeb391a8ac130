//===- RuntimeOpsTest.cpp - Library-backed ops vs. the oracle ---*- C++ -*-===//
//
// The ops that -mnemo-lower-to-runtime turns into kernel calls (embedding,
// linear, rotary, causal attention), compiled through the whole CPU
// pipeline and the JIT, against lib/Reference.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mnemo/Reference/Reference.h"
#include "mnemo/Support/Float16.h"

#include <cmath>
#include <random>

using namespace mnemo;

namespace {

using test::expectClose;

std::shared_ptr<const CompiledModule> compile(const char *source) {
  JITOptions options;
  options.threads = 2;
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

class RuntimeOpsBlock : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(RuntimeOpsBlock, MatchesReference) {
  auto [start, n] = GetParam();
  auto module = compile(kBlock);
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

// Prefill from scratch, a prompt continuing a cache (with a tail past a
// 128-query block), and one decoded token.
INSTANTIATE_TEST_SUITE_P(Shapes, RuntimeOpsBlock,
                         ::testing::Values(std::make_pair(0, 1),
                                           std::make_pair(0, 7),
                                           std::make_pair(5, 130),
                                           std::make_pair(40, 1)));

} // namespace
