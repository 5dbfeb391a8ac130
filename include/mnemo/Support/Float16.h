//===- Float16.h - IEEE half and bfloat16 conversions -----------*- C++ -*-===//
//
// Bit-exact conversions between f32 and the two 16-bit storage types of
// Memory Layer tables. Widening is exact; narrowing rounds to nearest even.
// Header-only so that the reference, the runtime and the tests share one
// definition.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_FLOAT16_H
#define MNEMO_SUPPORT_FLOAT16_H

#include <cstdint>
#include <cstring>

namespace mnemo {

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

/// IEEE binary16 -> binary32 (exact, including subnormals, infinities, NaN).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) // Inf or NaN.
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsToFloat(sign);
    // Subnormal: value = mantissa * 2^-24.
    float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return (sign ? -magnitude : magnitude);
  }
  return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// IEEE binary32 -> binary16, round to nearest even; overflow gives
/// infinity, NaN stays NaN.
inline uint16_t floatToHalf(float f) {
  uint32_t u = floatBits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t absBits = u & 0x7fffffffu;
  if (absBits >= 0x7f800000u) // Inf or NaN.
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (absBits > 0x7f800000u ? 0x200u : 0u));
  if (absBits >= 0x477ff000u) // Rounds to >= 65520: overflow to infinity.
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (absBits < 0x38800000u) { // Below the smallest normal half (2^-14).
    // Subnormal half: round |f| / 2^-24 to an integer, nearest even.
    float magnitude = bitsToFloat(absBits) * 16777216.0f;
    uint32_t whole = static_cast<uint32_t>(magnitude);
    float fraction = magnitude - static_cast<float>(whole);
    if (fraction > 0.5f || (fraction == 0.5f && (whole & 1u)))
      ++whole;
    return static_cast<uint16_t>(sign | whole);
  }
  uint32_t exponent = (absBits >> 23) - 112;
  uint32_t mantissa = absBits & 0x7fffffu;
  uint32_t half = (exponent << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half; // May carry into the exponent, which is the correct rounding.
  return static_cast<uint16_t>(sign | half);
}

/// bfloat16 -> binary32 (exact).
inline float bf16ToFloat(uint16_t b) {
  return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

/// binary32 -> bfloat16, round to nearest even; NaN stays NaN.
inline uint16_t floatToBf16(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

} // namespace mnemo

#endif // MNEMO_SUPPORT_FLOAT16_H
