//===- CuBLAS.cpp - The dense layer on the GPU, by cuBLAS -------*- C++ -*-===//

#include "mnemo/Bench/CuBLAS.h"

#include "mnemo/Runtime/CUDA.h"

#include <dlfcn.h>

#include <string>

namespace mnemo::bench {

namespace {

// cuBLAS's ABI (cublas_api.h).
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR32F = 0, kR16F = 2;
constexpr int kCompute32F = 68;
constexpr int kGemmDefault = -1;

llvm::Error makeError(const std::string &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

struct CuBLAS::Functions {
  int (*create)(void **);
  int (*destroy)(void *);
  int (*setStream)(void *, void *);
  int (*sgemm)(void *, int, int, int, int, int, const float *, const float *,
               int, const float *, int, const float *, float *, int);
  int (*gemmEx)(void *, int, int, int, int, int, const void *, const void *,
                int, int, const void *, int, int, const void *, void *, int,
                int, int, int);
};

llvm::Expected<std::unique_ptr<CuBLAS>> CuBLAS::load() {
  if (llvm::Error error = cuda::initialize())
    return std::move(error);
  void *library = nullptr;
  for (const char *name : {"libcublas.so.13", "libcublas.so.12",
                           "libcublas.so.11", "libcublas.so"})
    if ((library = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
      break;
  if (!library)
    return makeError("cuBLAS (libcublas.so.13, .12 or .11) could not be "
                     "loaded");
  auto blas = std::unique_ptr<CuBLAS>(new CuBLAS());
  blas->functions = std::make_unique<Functions>();
  Functions &f = *blas->functions;
  auto resolve = [&](const char *name, auto &function) {
    function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(
        dlsym(library, name));
    return function != nullptr;
  };
  if (!resolve("cublasCreate_v2", f.create) ||
      !resolve("cublasDestroy_v2", f.destroy) ||
      !resolve("cublasSetStream_v2", f.setStream) ||
      !resolve("cublasSgemm_v2", f.sgemm) || !resolve("cublasGemmEx", f.gemmEx))
    return makeError("cuBLAS lacks an entry point Mnemo uses");
  if (int status = f.create(&blas->handle))
    return makeError("cublasCreate: status " + std::to_string(status));
  if (int status = f.setStream(blas->handle, cuda::stream()))
    return makeError("cublasSetStream: status " + std::to_string(status));
  return std::move(blas);
}

CuBLAS::~CuBLAS() {
  if (handle)
    functions->destroy(handle);
}

// Row-major y[n, h] = x[n, d] W^T, W row-major [h, d], is column-major
// y^T (h x n) = W (op T of the d x h column-major view) x^T (d x n).
llvm::Error CuBLAS::sgemm(const float *weights, const float *x, float *y,
                          int64_t n, int64_t d, int64_t h) {
  const float one = 1.0f, zero = 0.0f;
  if (int status = functions->sgemm(
          handle, kOpT, kOpN, static_cast<int>(h), static_cast<int>(n),
          static_cast<int>(d), &one, weights, static_cast<int>(d), x,
          static_cast<int>(d), &zero, y, static_cast<int>(h)))
    return makeError("cublasSgemm: status " + std::to_string(status));
  return cuda::synchronize();
}

llvm::Error CuBLAS::hgemm(const void *weights, const void *x, float *y,
                          int64_t n, int64_t d, int64_t h) {
  const float one = 1.0f, zero = 0.0f;
  if (int status = functions->gemmEx(
          handle, kOpT, kOpN, static_cast<int>(h), static_cast<int>(n),
          static_cast<int>(d), &one, weights, kR16F, static_cast<int>(d), x,
          kR16F, static_cast<int>(d), &zero, y, kR32F, static_cast<int>(h),
          kCompute32F, kGemmDefault))
    return makeError("cublasGemmEx: status " + std::to_string(status));
  return cuda::synchronize();
}

} // namespace mnemo::bench
