//===- ReferenceTest.cpp - The oracle against hand-computed values -*- C++
//-*-===//
//
// lib/Reference is what every kernel is compared with, so it is checked here
// against numbers worked out by hand from docs/spec.md (the constants were
// computed independently, with a calculator-level formula per term).
//
//===----------------------------------------------------------------------===//

#include "mnemo/Reference/Reference.h"
#include "mnemo/Support/Float16.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace mnemo;
using namespace mnemo::ref;

namespace {

//===----------------------------------------------------------------------===//
// Memory Layer
//===----------------------------------------------------------------------===//

TEST(ReferenceMemoryLayer, BucketBitsAreMostSignificantFirst) {
  float chunk[] = {1.0f, -1.0f, -1.0f, 2.0f};
  EXPECT_EQ(bucketIndex(chunk, 4), 0b1001u);
  float single[] = {-3.0f};
  EXPECT_EQ(bucketIndex(single, 1), 0u);
}

TEST(ReferenceMemoryLayer, ZeroAndNegativeZeroAreOneBits) {
  float chunk[] = {0.0f, -0.0f, -1e-30f};
  EXPECT_EQ(bucketIndex(chunk, 3), 0b110u);
  // A chunk of zeros: every bit set, each factor 1/2, L1 norm 0.
  float zeros[] = {0.0f, -0.0f, 0.0f, -0.0f};
  EXPECT_EQ(bucketIndex(zeros, 4), 15u);
  EXPECT_DOUBLE_EQ(chunkWeight(zeros, 4, Weighting::Prob, 1.0), 1.0 / 16);
  EXPECT_DOUBLE_EQ(chunkWeight(zeros, 4, Weighting::Prob, 3.0), 1.0 / 16);
  EXPECT_DOUBLE_EQ(chunkWeight(zeros, 4, Weighting::L1Prob, 1.0), 0.0);
}

TEST(ReferenceMemoryLayer, NaNIsAZeroBit) {
  float chunk[] = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  EXPECT_EQ(bucketIndex(chunk, 2), 0b01u);
}

// tau = 1, K = 3, one token: x = [0.5, -0.25, 0.0] picks rows 1, 0, 1.
TEST(ReferenceMemoryLayer, TauOneByHand) {
  float x[] = {0.5f, -0.25f, 0.0f};
  // tables[k][r][c], h = 2
  float tables[] = {/*k0*/ 9, 9, 1,        2, /*k1*/ 3, 4,
                    9,        9, /*k2*/ 9, 9, 5,        6};
  MemoryLayerShape shape{3, 1, 2, Weighting::Prob, 1.0};
  std::vector<float> y = memoryLayer(x, 1, tables, nullptr, shape);
  double w0 = 0.7310585786300049, w1 = 0.6224593312018546, w2 = 0.5;
  ASSERT_EQ(y.size(), 2u);
  EXPECT_FLOAT_EQ(y[0], static_cast<float>(w0 * 1 + w1 * 3 + w2 * 5));
  EXPECT_FLOAT_EQ(y[1], static_cast<float>(w0 * 2 + w1 * 4 + w2 * 6));
}

// tau = 16, K = 1: a 16-bit bucket; magnitudes of 30 make every factor 1
// except the two zeros (1/2 each).
TEST(ReferenceMemoryLayer, TauSixteenByHand) {
  const float p = 30.0f, m = -30.0f;
  float x[] = {p, m, p, p, m, m, m, p, 0.0f, -0.0f, p, m, p, m, m, p};
  uint32_t expected = 0b1011000111101001u;
  ASSERT_EQ(bucketIndex(x, 16), expected);
  std::vector<float> tables(65536);
  for (size_t r = 0; r < tables.size(); ++r)
    tables[r] = static_cast<float>(r);
  MemoryLayerShape l1{1, 16, 1, Weighting::L1Prob, 1.0};
  // w = (14 * 30) * (1/2)^2 = 105
  EXPECT_EQ(memoryLayer(x, 1, tables.data(), nullptr, l1)[0], 105.0f * 45545);
  MemoryLayerShape prob{1, 16, 1, Weighting::Prob, 1.0};
  EXPECT_EQ(memoryLayer(x, 1, tables.data(), nullptr, prob)[0], 0.25f * 45545);
}

// N = 1, tau = 2, K = 2, bias, temperature 2 for prob; l1_prob ignores it.
TEST(ReferenceMemoryLayer, ProbVersusL1ProbWithTemperature) {
  float x[] = {1.0f, -2.0f, 0.5f, 0.5f}; // buckets 0b10 and 0b11
  float tables[] = {/*k0*/ -7, -7, -7, -7, 1,  10, -7,  -7,
                    /*k1*/ -7, -7, -7, -7, -7, -7, 100, 1000};
  float bias[] = {0.5f, -0.5f};
  MemoryLayerShape prob{2, 2, 2, Weighting::Prob, 2.0};
  std::vector<float> y = memoryLayer(x, 1, tables, bias, prob);
  EXPECT_FLOAT_EQ(y[0], 39.88947615991398f);
  EXPECT_FLOAT_EQ(y[1], 393.39476159913977f);
  MemoryLayerShape l1{2, 2, 2, Weighting::L1Prob, 2.0};
  y = memoryLayer(x, 1, tables, bias, l1);
  EXPECT_FLOAT_EQ(y[0], 56.539529169250436f);
  EXPECT_FLOAT_EQ(y[1], 559.8952916925043f);
  EXPECT_DOUBLE_EQ(chunkWeight(x, 2, Weighting::Prob, 2.0), 0.6439142598879722);
  EXPECT_DOUBLE_EQ(chunkWeight(x + 2, 2, Weighting::L1Prob, 1.0),
                   0.534446645388523);
}

TEST(ReferenceMemoryLayer, TokensAreIndependentRows) {
  float x[] = {1.0f, -1.0f, -1.0f, 1.0f}; // two tokens, tau = 2, K = 1
  float tables[] = {0, 1, 2, 3};          // h = 1, row r holds r
  MemoryLayerShape shape{1, 2, 1, Weighting::Prob, 1.0};
  std::vector<float> y = memoryLayer(x, 2, tables, nullptr, shape);
  double w = 0.8807970779778823 * 0.8807970779778823; // (1/(1+e^-2))^2
  EXPECT_FLOAT_EQ(y[0], static_cast<float>(2 * w));
  EXPECT_FLOAT_EQ(y[1], static_cast<float>(1 * w));
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

TEST(ReferenceBlocks, RmsNorm) {
  float x[] = {3.0f, 4.0f};
  float g[] = {1.0f, 2.0f};
  std::vector<float> y = rmsNorm(x, 1, 2, g, 0.0);
  EXPECT_FLOAT_EQ(y[0], 0.848528137423857f);
  EXPECT_FLOAT_EQ(y[1], 2.262741699796952f);
}

TEST(ReferenceBlocks, LayerNorm) {
  float x[] = {1.0f, 3.0f, 10.0f, 10.0f};
  float g[] = {2.0f, 1.0f};
  float b[] = {0.5f, -0.5f};
  std::vector<float> y = layerNorm(x, 2, 2, g, b, 0.0);
  // Row 0: mean 2, variance 1. Row 1: constant, becomes the bias... with
  // eps = 0 it is 0/0, so use a positive eps for it below.
  EXPECT_FLOAT_EQ(y[0], -2.0f + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 1.0f - 0.5f);
  y = layerNorm(x + 2, 1, 2, g, b, 1e-5);
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], -0.5f);
}

TEST(ReferenceBlocks, LinearUsesOutInLayout) {
  float x[] = {1.0f, 2.0f};
  float w[] = {1.0f, 0.0f, 3.0f, -1.0f, 0.5f, 0.5f}; // [3, 2]
  float b[] = {0.0f, 1.0f, -1.0f};
  std::vector<float> y = linear(x, 1, 2, w, b, 3);
  EXPECT_EQ(y, (std::vector<float>{1.0f, 2.0f, 0.5f}));
}

TEST(ReferenceBlocks, RotaryRotatesHalves) {
  // One head of 4 values, all rotated, position 1, base 10000:
  // theta_0 = 1, theta_1 = 10000^(-1/2) = 0.01.
  float x[] = {1.0f, 0.0f, 0.0f, 1.0f};
  int64_t pos[] = {1};
  rotary(x, 1, 1, 4, 4, 10000.0, pos);
  EXPECT_FLOAT_EQ(x[0], 0.5403023058681398f);    // cos 1
  EXPECT_FLOAT_EQ(x[2], 0.8414709848078965f);    // sin 1
  EXPECT_FLOAT_EQ(x[1], -0.009999833334166664f); // -sin 0.01
  EXPECT_FLOAT_EQ(x[3], 0.9999500004166653f);    // cos 0.01
}

TEST(ReferenceBlocks, RotaryLeavesTailAndPositionZero) {
  float x[] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f};
  int64_t pos[] = {0};
  rotary(x, 1, 2, 4, 2, 10000.0, pos); // 2 heads, first 2 dims rotated
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[5], 6.0f);
  float y[] = {1.0f, 2.0f, 3.0f, 4.0f};
  int64_t pos3[] = {3};
  rotary(y, 1, 1, 4, 2, 10000.0, pos3);
  EXPECT_FLOAT_EQ(y[0], static_cast<float>(std::cos(3.0) - 2 * std::sin(3.0)));
  EXPECT_EQ(y[2], 3.0f); // past rotary_dims: unchanged
  EXPECT_EQ(y[3], 4.0f);
}

TEST(ReferenceBlocks, CausalAttentionMasksTheFuture) {
  // One head of width 1; keys 0 and ln 2, so the second query weighs the
  // values 1 : 2.
  float q[] = {1.0f, 1.0f};
  float k[] = {0.0f, static_cast<float>(std::log(2.0))};
  float v[] = {3.0f, 6.0f};
  std::vector<float> out = causalAttention(q, 2, k, v, 2, 1, 1, 1.0);
  EXPECT_FLOAT_EQ(out[0], 3.0f);                        // sees key 0 only
  EXPECT_FLOAT_EQ(out[1], 3.0f * 1 / 3 + 6.0f * 2 / 3); // = 5
  // Decoding: one query at the end of the two keys.
  out = causalAttention(q + 1, 1, k, v, 2, 1, 1, 1.0);
  EXPECT_FLOAT_EQ(out[0], 5.0f);
}

TEST(ReferenceBlocks, GeluIsExact) {
  EXPECT_DOUBLE_EQ(gelu(0.0), 0.0);
  EXPECT_NEAR(gelu(1.0), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(gelu(-1.0), -0.15865525393145707, 1e-15);
}

//===----------------------------------------------------------------------===//
// Memsizer
//===----------------------------------------------------------------------===//

TEST(ReferenceMemsizer, AlphaAveragesHeadSoftmaxes) {
  // Two heads of 2 slots: softmax([0, 0]) = [.5, .5];
  // softmax([ln 3, 0]) = [.75, .25]; mean = [.625, .375].
  float logits[] = {0.0f, 0.0f, static_cast<float>(std::log(3.0)), 0.0f};
  std::vector<float> alpha = memsizerAlpha(logits, 1, 2, 2);
  EXPECT_FLOAT_EQ(alpha[0], 0.625f);
  EXPECT_FLOAT_EQ(alpha[1], 0.375f);
}

TEST(ReferenceMemsizer, CausalByHand) {
  // k = 1 slot, d = 2: S_t = sum key_i val_i; y_t = alpha_t S_t / sqrt(t).
  float alpha[] = {1.0f, 2.0f};
  float keys[] = {1.0f, 3.0f};
  float values[] = {1.0f, 2.0f, 4.0f, 8.0f};
  std::vector<float> state(2, 0.0f);
  std::vector<float> y = memsizerCausal(alpha, keys, values, 2, 1, 2, state, 0);
  EXPECT_FLOAT_EQ(y[0], 1.0f);
  EXPECT_FLOAT_EQ(y[1], 2.0f);
  // S_2 = [1 + 12, 2 + 24] = [13, 26]; y_2 = 2 * S_2 / sqrt(2)
  EXPECT_FLOAT_EQ(y[2], static_cast<float>(26 / std::sqrt(2.0)));
  EXPECT_FLOAT_EQ(y[3], static_cast<float>(52 / std::sqrt(2.0)));
  EXPECT_EQ(state, (std::vector<float>{13.0f, 26.0f}));
}

TEST(ReferenceMemsizer, SplittingThePromptGivesTheSameOutputs) {
  const int64_t t = 5, slots = 3, d = 4;
  std::vector<float> alpha(t * slots), keys(t * slots), values(t * d);
  for (size_t i = 0; i < alpha.size(); ++i) {
    alpha[i] = 0.1f * static_cast<float>(i % 7) - 0.2f;
    keys[i] = 0.3f * static_cast<float>(i % 5) - 0.5f;
  }
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 0.05f * static_cast<float>(i) - 0.4f;
  std::vector<float> whole(slots * d, 0.0f);
  std::vector<float> expected = memsizerCausal(
      alpha.data(), keys.data(), values.data(), t, slots, d, whole, 0);
  std::vector<float> split(slots * d, 0.0f);
  std::vector<float> first = memsizerCausal(
      alpha.data(), keys.data(), values.data(), 2, slots, d, split, 0);
  std::vector<float> rest =
      memsizerCausal(alpha.data() + 2 * slots, keys.data() + 2 * slots,
                     values.data() + 2 * d, 3, slots, d, split, 2);
  first.insert(first.end(), rest.begin(), rest.end());
  ASSERT_EQ(first.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(first[i], expected[i], 1e-6f) << i;
}

TEST(ReferenceMemsizer, SourceMemoryExcludesPadsAndScales) {
  float keys[] = {1.0f, 100.0f, 2.0f};    // k = 1 slot, 3 source tokens
  float values[] = {1.0f, 1000.0f, 3.0f}; // d = 1
  uint8_t mask[] = {1, 0, 1};
  std::vector<float> m = memsizerSourceMemory(keys, values, mask, 3, 1, 1);
  EXPECT_FLOAT_EQ(m[0], static_cast<float>(7 / std::sqrt(2.0)));
  uint8_t none[] = {0, 0, 0};
  EXPECT_EQ(memsizerSourceMemory(keys, values, none, 3, 1, 1)[0], 0.0f);
  float alpha[] = {2.0f};
  EXPECT_FLOAT_EQ(memsizerCross(alpha, 1, m.data(), 1, 1)[0], 2 * m[0]);
}

//===----------------------------------------------------------------------===//
// Storage types
//===----------------------------------------------------------------------===//

TEST(Float16, HalfRoundTripsEveryValue) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    float f = halfToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(f))
      continue;
    ASSERT_EQ(floatToHalf(f), bits) << bits;
  }
}

TEST(Float16, HalfKnownValuesAndRounding) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // ties to even: infinity
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST(Float16, Bfloat16) {
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between two bfloat16 values: ties to even (1).
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(NAN))));
}

} // namespace
