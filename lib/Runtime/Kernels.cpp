//===- Kernels.cpp - Library kernels that generated code calls ------------===//
//
// See Kernels.h. Hot loops are compiled for AVX-512, AVX2 and baseline
// x86-64 and picked at load time (target_clones), so that the library runs
// on any x86-64 machine and fast on recent ones.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Runtime/Kernels.h"

#include "mnemo/Support/Float16.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__clang__)
#define MNEMO_MULTIVERSION                                                     \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MNEMO_MULTIVERSION
#endif

namespace {

[[noreturn]] void fail(const char *kernel, const char *message) {
  std::fprintf(stderr, "mnemo runtime: %s: %s (a compiler bug)\n", kernel,
               message);
  std::abort();
}

/// A row-major view of a 2-D memref with unit column stride.
template <typename T> struct Matrix {
  T *data;
  int64_t rows, cols, stride;
  T *row(int64_t i) const { return data + i * stride; }
};

template <typename T>
Matrix<T> matrix(StridedMemRefType<T, 2> *m, const char *kernel) {
  if (m->sizes[0] > 0 && m->sizes[1] > 1 && m->strides[1] != 1)
    fail(kernel, "a matrix argument has a non-unit column stride");
  return {m->data + m->offset, m->sizes[0], m->sizes[1], m->strides[0]};
}

MNEMO_MULTIVERSION
void axpy(float a, const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] += a * x[i];
}

template <typename T, typename Widen>
void embedding(StridedMemRefType<T, 2> *tableRef,
               StridedMemRefType<int64_t, 1> *ids,
               StridedMemRefType<float, 2> *outRef, Widen widen) {
  Matrix<T> table = matrix(tableRef, "embedding");
  Matrix<float> out = matrix(outRef, "embedding");
  for (int64_t r = 0; r < out.rows; ++r) {
    int64_t id = ids->data[ids->offset + r * ids->strides[0]];
    if (id < 0 || id >= table.rows)
      fail("embedding", "token id outside the table (the runtime checks ids)");
    const T *source = table.row(id);
    float *target = out.row(r);
    for (int64_t c = 0; c < out.cols; ++c)
      target[c] = widen(source[c]);
  }
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//
//
// Softmax attention runs on the OpenMP team that runs the generated kernels,
// one task per (head, block of kQueryRows queries), so that no second
// thread pool (BLAS's) competes with that team for the cores between
// kernels. A block computes its scores against the keys its last query
// sees, a softmax per row, then its outputs; the keys and values are taken
// in tiles of kKeyTile rows, each reused from L1 across the block's
// queries. With at least kQueryRows queries the keys are first transposed
// per head (zero-padded to whole tiles), so that the scores of a tile are
// vector FMAs over the head's dimensions; with fewer (decoding), each score
// is a dot product of a key row.

constexpr int64_t kQueryRows = 16;
constexpr int64_t kKeyTile = 64;

/// exp(x) for x <= 0, NaN for NaN (the Cephes expf: Cody-Waite reduction,
/// degree-5 polynomial, 2^n built in the exponent bits); arguments below
/// -87 give exp(-87), 1.6e-38, which adds nothing to a softmax's sum of at
/// least 1.
inline float expNonPositive(float x) {
  x = std::max(x, -87.0f); // (NaN < -87) is false: NaN stays
  // Adding 1.5 * 2^23 rounds x / ln 2 to an integer n, which lands in the
  // low bits of the sum's mantissa (two's complement): in [-126, 0] here.
  constexpr float kShift = 12582912.0f;
  float shifted = x * 1.44269504088896341f + kShift;
  float n = shifted - kShift;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  uint32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  bits = (bits + 127u) << 23; // the exponent field of 2^n
  float twoToN;
  std::memcpy(&twoToN, &bits, sizeof(twoToN));
  return e * twoToN;
}

/// kt[d * ktStride + j] = k[j][d] for `keys` rows of one head.
MNEMO_MULTIVERSION
void transposeKeys(const float *k, int64_t kStride, int64_t keys,
                   int64_t headDim, float *kt, int64_t ktStride) {
  for (int64_t j = 0; j < keys; ++j)
    for (int64_t d = 0; d < headDim; ++d)
      kt[d * ktStride + j] = k[j * kStride + d];
}

/// o[0 .. W) += sum_j p[j] * v[j][0 .. W), W accumulators in registers.
template <int W>
inline void accumulateColumns(const float *p, int64_t count, const float *v,
                              int64_t vStride, float *o) {
  float acc[W];
  for (int c = 0; c < W; ++c)
    acc[c] = o[c];
  for (int64_t j = 0; j < count; ++j) {
    float x = p[j];
    const float *vj = v + j * vStride;
    for (int c = 0; c < W; ++c)
      acc[c] += x * vj[c];
  }
  for (int c = 0; c < W; ++c)
    o[c] = acc[c];
}

/// One head and block of `rows` queries. Row r sees keys [0, visible + r)
/// (`visible` is what row 0 sees; with `causal` false every row sees all
/// `m`). `kt` is the head's transposed keys, or null to take dot products
/// of `k`'s rows. `scores` holds rows x m floats.
MNEMO_MULTIVERSION
void attentionBlock(const float *q, int64_t qStride, const float *k,
                    int64_t kStride, const float *kt, int64_t ktStride,
                    const float *v, int64_t vStride, float *out,
                    int64_t outStride, int64_t rows, int64_t headDim, int64_t m,
                    int64_t visible, bool causal, float scale, float *scores) {
  int64_t keys = causal ? std::min(m, visible + rows - 1) : m;
  for (int64_t j0 = 0; j0 < keys; j0 += kKeyTile) {
    int64_t count = std::min(kKeyTile, keys - j0);
    for (int64_t r = 0; r < rows; ++r) {
      const float *qr = q + r * qStride;
      float *sr = scores + r * keys + j0;
      if (kt) {
        float s[kKeyTile] = {};
        for (int64_t d = 0; d < headDim; ++d) {
          float x = qr[d];
          const float *kd = kt + d * ktStride + j0;
          for (int64_t j = 0; j < kKeyTile; ++j)
            s[j] += x * kd[j];
        }
        for (int64_t j = 0; j < count; ++j)
          sr[j] = s[j] * scale;
        continue;
      }
      for (int64_t j = 0; j < count; ++j) {
        const float *kj = k + (j0 + j) * kStride;
        float part[8] = {};
        int64_t d = 0;
        for (; d + 8 <= headDim; d += 8)
          for (int l = 0; l < 8; ++l)
            part[l] += qr[d + l] * kj[d + l];
        float total = 0.0f;
        for (; d < headDim; ++d)
          total += qr[d] * kj[d];
        for (int l = 0; l < 8; ++l)
          total += part[l];
        sr[j] = total * scale;
      }
    }
  }

  // Softmax numerators (zero past each row's last visible key); each row's
  // outputs start at zero and are divided by its sum at the end.
  float inverse[kQueryRows];
  for (int64_t r = 0; r < rows; ++r) {
    float *sr = scores + r * keys;
    int64_t seen = causal ? visible + r : m;
    float largest = -INFINITY;
    for (int64_t j = 0; j < seen; ++j)
      largest = std::max(largest, sr[j]);
    float part[8] = {};
    int64_t j = 0;
    for (; j + 8 <= seen; j += 8)
      for (int l = 0; l < 8; ++l) {
        float e = expNonPositive(sr[j + l] - largest);
        sr[j + l] = e;
        part[l] += e;
      }
    double total = 0.0;
    for (; j < seen; ++j) {
      float e = expNonPositive(sr[j] - largest);
      sr[j] = e;
      total += e;
    }
    for (int l = 0; l < 8; ++l)
      total += part[l];
    for (j = seen; j < keys; ++j)
      sr[j] = 0.0f;
    inverse[r] = total > 0.0 ? static_cast<float>(1.0 / total) : 0.0f;
    std::fill(out + r * outStride, out + r * outStride + headDim, 0.0f);
  }

  for (int64_t j0 = 0; j0 < keys; j0 += kKeyTile) {
    int64_t count = std::min(kKeyTile, keys - j0);
    const float *vTile = v + j0 * vStride;
    for (int64_t r = 0; r < rows; ++r) {
      const float *pr = scores + r * keys + j0;
      float *o = out + r * outStride;
      int64_t c = 0;
      for (; c + 64 <= headDim; c += 64)
        accumulateColumns<64>(pr, count, vTile + c, vStride, o + c);
      for (; c + 8 <= headDim; c += 8)
        accumulateColumns<8>(pr, count, vTile + c, vStride, o + c);
      for (; c < headDim; ++c)
        accumulateColumns<1>(pr, count, vTile + c, vStride, o + c);
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < headDim; ++c)
      out[r * outStride + c] *= inverse[r];
}

/// Softmax attention of `q` over `k` and `v`; with `causal`, the queries are
/// the last rows of the keys and each sees the keys up to its own.
void attention(StridedMemRefType<float, 2> *qRef,
               StridedMemRefType<float, 2> *kRef,
               StridedMemRefType<float, 2> *vRef,
               StridedMemRefType<float, 2> *outRef, int64_t heads, float scale,
               bool causal) {
  Matrix<float> q = matrix(qRef, "attention"), k = matrix(kRef, "attention");
  Matrix<float> v = matrix(vRef, "attention");
  Matrix<float> out = matrix(outRef, "attention");
  int64_t n = q.rows, m = k.rows, headDim = q.cols / heads;
  if ((causal && m < n) || v.rows != m)
    fail("attention", "fewer keys than queries");
  if (n == 0)
    return;

  int64_t blocks = (n + kQueryRows - 1) / kQueryRows;
  bool transposed = n >= kQueryRows;
  int64_t ktStride = (m + kKeyTile - 1) / kKeyTile * kKeyTile;
  std::vector<float> kt;
  if (transposed)
    kt.assign(static_cast<size_t>(ktStride * headDim * heads), 0.0f);

#pragma omp parallel
  {
    if (transposed) {
#pragma omp for schedule(static)
      for (int64_t h = 0; h < heads; ++h)
        transposeKeys(k.data + h * headDim, k.stride, m, headDim,
                      kt.data() + h * headDim * ktStride, ktStride);
    }
    std::vector<float> scores(static_cast<size_t>(std::min(n, kQueryRows) * m));
    // The last blocks see the most keys: hand them out first.
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < heads * blocks; ++task) {
      int64_t h = task % heads, block = blocks - 1 - task / heads;
      int64_t i0 = block * kQueryRows;
      int64_t rows = std::min(kQueryRows, n - i0);
      attentionBlock(
          q.row(i0) + h * headDim, q.stride, k.data + h * headDim, k.stride,
          transposed ? kt.data() + h * headDim * ktStride : nullptr, ktStride,
          v.data + h * headDim, v.stride, out.row(i0) + h * headDim, out.stride,
          rows, headDim, m, m - n + i0 + 1, causal, scale, scores.data());
    }
  }
}

} // namespace

extern "C" {

void _mlir_ciface_mnemo_linear(StridedMemRefType<float, 2> *xRef,
                               StridedMemRefType<float, 2> *wRef,
                               StridedMemRefType<float, 1> *bias,
                               StridedMemRefType<float, 2> *yRef) {
  Matrix<float> x = matrix(xRef, "linear"), w = matrix(wRef, "linear");
  Matrix<float> y = matrix(yRef, "linear");
  if (bias->sizes[0] != 0 && bias->sizes[0] != y.cols)
    fail("linear", "bias width differs from the output width");
  if (x.rows == 0)
    return;
  const float *b = bias->sizes[0] ? bias->data + bias->offset : nullptr;

  // The outputs are split into one range per thread of the OpenMP team
  // that runs the generated kernels (multiples of 16 columns), each a
  // single-threaded BLAS call: BLAS's own thread pool would compete with
  // that team for the cores between kernels.
  if (openblas_get_num_threads() != 1)
    openblas_set_num_threads(1);
  int64_t outputs = w.rows;
#pragma omp parallel
  {
    int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
    int64_t share = (outputs + threads - 1) / threads;
    share = (share + 15) / 16 * 16;
    int64_t first = std::min(outputs, thread * share);
    int64_t count = std::min(outputs, first + share) - first;
    if (count > 0) {
      const float *wPart = w.row(first);
      float *yPart = y.data + first;
      if (x.rows == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(count),
                    static_cast<int>(w.cols), 1.0f, wPart,
                    static_cast<int>(w.stride), x.data, 1, 0.0f, yPart, 1);
      else
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(x.rows),
            static_cast<int>(count), static_cast<int>(w.cols), 1.0f, x.data,
            static_cast<int>(x.stride), wPart, static_cast<int>(w.stride), 0.0f,
            yPart, static_cast<int>(y.stride));
      if (b)
        for (int64_t r = 0; r < y.rows; ++r)
          axpy(1.0f, b + first, y.row(r) + first, count);
    }
  }
}

void _mlir_ciface_mnemo_causal_attention(StridedMemRefType<float, 2> *qRef,
                                         StridedMemRefType<float, 2> *kRef,
                                         StridedMemRefType<float, 2> *vRef,
                                         StridedMemRefType<float, 2> *outRef,
                                         int64_t heads, float scale) {
  attention(qRef, kRef, vRef, outRef, heads, scale, /*causal=*/true);
}

void _mlir_ciface_mnemo_attention(StridedMemRefType<float, 2> *qRef,
                                  StridedMemRefType<float, 2> *kRef,
                                  StridedMemRefType<float, 2> *vRef,
                                  StridedMemRefType<float, 2> *outRef,
                                  int64_t heads, float scale) {
  attention(qRef, kRef, vRef, outRef, heads, scale, /*causal=*/false);
}

void _mlir_ciface_mnemo_rotary(StridedMemRefType<float, 2> *xRef,
                               StridedMemRefType<int64_t, 1> *positions,
                               StridedMemRefType<float, 2> *outRef,
                               int64_t heads, int64_t dims, float base) {
  Matrix<float> x = matrix(xRef, "rotary"), out = matrix(outRef, "rotary");
  int64_t headDim = x.cols / heads, half = dims / 2;
  std::vector<double> inverseFrequency(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j)
    inverseFrequency[j] = std::pow(static_cast<double>(base),
                                   -2.0 * j / static_cast<double>(dims));
  for (int64_t r = 0; r < x.rows; ++r) {
    double position = static_cast<double>(
        positions->data[positions->offset + r * positions->strides[0]]);
    const float *in = x.row(r);
    float *o = out.row(r);
    std::copy(in, in + x.cols, o);
    for (int64_t j = 0; j < half; ++j) {
      double theta = position * inverseFrequency[j];
      double c = std::cos(theta), s = std::sin(theta);
      for (int64_t h = 0; h < heads; ++h) {
        double x1 = in[h * headDim + j], x2 = in[h * headDim + j + half];
        o[h * headDim + j] = static_cast<float>(x1 * c - x2 * s);
        o[h * headDim + j + half] = static_cast<float>(x2 * c + x1 * s);
      }
    }
  }
}

void _mlir_ciface_mnemo_embedding_f32(StridedMemRefType<float, 2> *table,
                                      StridedMemRefType<int64_t, 1> *ids,
                                      StridedMemRefType<float, 2> *out) {
  embedding(table, ids, out, [](float v) { return v; });
}

void _mlir_ciface_mnemo_embedding_f16(StridedMemRefType<uint16_t, 2> *table,
                                      StridedMemRefType<int64_t, 1> *ids,
                                      StridedMemRefType<float, 2> *out) {
  embedding(table, ids, out, [](uint16_t v) { return mnemo::halfToFloat(v); });
}

void _mlir_ciface_mnemo_embedding_bf16(StridedMemRefType<uint16_t, 2> *table,
                                       StridedMemRefType<int64_t, 1> *ids,
                                       StridedMemRefType<float, 2> *out) {
  embedding(table, ids, out, [](uint16_t v) { return mnemo::bf16ToFloat(v); });
}

} // extern "C"
