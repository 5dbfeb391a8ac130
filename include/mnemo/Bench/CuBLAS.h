//===- CuBLAS.h - The dense layer on the GPU, by cuBLAS ---------*- C++ -*-===//
//
// The GPU baseline of `mnemoc bench layer --target cuda`: a dense layer
// `y = x W^T` of the Memory Layer's `N x d x h` shape computed by cuBLAS,
// loaded with dlopen like the driver (libcublas.so.13, .12, .11).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_BENCH_CUBLAS_H
#define MNEMO_BENCH_CUBLAS_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>

namespace mnemo::bench {

class CuBLAS {
public:
  /// Loads cuBLAS and makes a handle on the calling thread's stream.
  static llvm::Expected<std::unique_ptr<CuBLAS>> load();
  ~CuBLAS();

  /// y[n, h] (f32) = x[n, d] W^T with f32 weights `[h, d]` (sgemm).
  llvm::Error sgemm(const float *weights, const float *x, float *y, int64_t n,
                    int64_t d, int64_t h);
  /// The same with f16 weights and inputs, f32 output and accumulation
  /// (GemmEx, tensor cores).
  llvm::Error hgemm(const void *weights, const void *x, float *y, int64_t n,
                    int64_t d, int64_t h);

private:
  CuBLAS() = default;
  struct Functions;
  std::unique_ptr<Functions> functions;
  void *handle = nullptr;
};

} // namespace mnemo::bench

#endif // MNEMO_BENCH_CUBLAS_H
