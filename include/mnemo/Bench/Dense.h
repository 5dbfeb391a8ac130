//===- Dense.h - The dense layer a user could call instead ------*- C++ -*-===//
//
// The baselines every Memory Layer figure is quoted against: a dense f32
// fully-connected layer `y = x W^T` of the same `N x d x h` shape, computed
// by OpenBLAS (sgemm, or sgemv for one token) or by oneDNN's matmul.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_BENCH_DENSE_H
#define MNEMO_BENCH_DENSE_H

#include <cstdint>
#include <memory>
#include <string>

namespace mnemo::bench {

/// A dense layer over one weight matrix `[h, d]` (PyTorch Linear layout).
class DenseLayer {
public:
  virtual ~DenseLayer() = default;
  /// y[n, h] = x[n, d] W^T; `n` is the token count the layer was made for.
  virtual void run(const float *x, float *y) = 0;
};

/// A library that computes dense layers.
class DenseLibrary {
public:
  virtual ~DenseLibrary() = default;
  virtual std::string name() const = 0;
  /// A layer for `numTokens` tokens over `weights` (`[h, d]`, which must
  /// outlive the layer).
  virtual std::unique_ptr<DenseLayer> makeLayer(const float *weights,
                                                int64_t inputWidth,
                                                int64_t outputWidth,
                                                int64_t numTokens) = 0;
};

/// OpenBLAS: cblas_sgemm, or cblas_sgemv for one token.
std::unique_ptr<DenseLibrary> makeOpenBlas(int threads);
/// oneDNN's matmul primitive, weights reordered once to its preferred layout.
std::unique_ptr<DenseLibrary> makeOneDnn(int threads);

} // namespace mnemo::bench

#endif // MNEMO_BENCH_DENSE_H
