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

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

/// In-place softmax of `count` scores (max-subtracted).
void softmax(float *scores, int64_t count) {
  float maxScore = -INFINITY;
  for (int64_t j = 0; j < count; ++j)
    maxScore = std::max(maxScore, scores[j]);
  double total = 0.0;
  for (int64_t j = 0; j < count; ++j) {
    scores[j] = std::exp(scores[j] - maxScore);
    total += scores[j];
  }
  float inverse = static_cast<float>(1.0 / total);
  for (int64_t j = 0; j < count; ++j)
    scores[j] *= inverse;
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

  // Query blocks: the scores of a block against the keys it may see, a
  // softmax per row with the causal limit, then the block's outputs.
  constexpr int64_t kBlock = 128;
  std::vector<float> scores(static_cast<size_t>(std::min(n, kBlock) * m));
  for (int64_t h = 0; h < heads; ++h) {
    const float *qh = q.data + h * headDim, *kh = k.data + h * headDim;
    const float *vh = v.data + h * headDim;
    float *oh = out.data + h * headDim;
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      int64_t rows = std::min(kBlock, n - i0);
      // keys the block's last row sees
      int64_t keys = causal ? m - n + i0 + rows : m;
      if (rows == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(keys),
                    static_cast<int>(headDim), scale, kh,
                    static_cast<int>(k.stride), qh + i0 * q.stride, 1, 0.0f,
                    scores.data(), 1);
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                    static_cast<int>(rows), static_cast<int>(keys),
                    static_cast<int>(headDim), scale, qh + i0 * q.stride,
                    static_cast<int>(q.stride), kh, static_cast<int>(k.stride),
                    0.0f, scores.data(), static_cast<int>(keys));
      }
      for (int64_t r = 0; r < rows; ++r) {
        float *row = scores.data() + r * keys;
        int64_t visible = causal ? m - n + i0 + r + 1 : m;
        softmax(row, visible);
        std::fill(row + visible, row + keys, 0.0f);
      }
      if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(keys),
                    static_cast<int>(headDim), 1.0f, vh,
                    static_cast<int>(v.stride), scores.data(), 1, 0.0f,
                    oh + i0 * out.stride, 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                    static_cast<int>(rows), static_cast<int>(headDim),
                    static_cast<int>(keys), 1.0f, scores.data(),
                    static_cast<int>(keys), vh, static_cast<int>(v.stride),
                    0.0f, oh + i0 * out.stride, static_cast<int>(out.stride));
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
  if (x.rows == 0)
    return;
  if (x.rows == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(w.rows),
                static_cast<int>(w.cols), 1.0f, w.data,
                static_cast<int>(w.stride), x.data, 1, 0.0f, y.data, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                static_cast<int>(x.rows), static_cast<int>(w.rows),
                static_cast<int>(w.cols), 1.0f, x.data,
                static_cast<int>(x.stride), w.data, static_cast<int>(w.stride),
                0.0f, y.data, static_cast<int>(y.stride));
  if (bias->sizes[0] == 0)
    return;
  if (bias->sizes[0] != y.cols)
    fail("linear", "bias width differs from the output width");
  const float *b = bias->data + bias->offset;
  for (int64_t r = 0; r < y.rows; ++r)
    axpy(1.0f, b, y.row(r), y.cols);
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
