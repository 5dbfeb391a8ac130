//===- Dense.cpp - OpenBLAS and oneDNN dense layers -------------*- C++ -*-===//

#include "mnemo/Bench/Dense.h"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

namespace mnemo::bench {

namespace {

class OpenBlasLayer : public DenseLayer {
public:
  OpenBlasLayer(const float *weights, int64_t d, int64_t h, int64_t n)
      : weights(weights), d(d), h(h), n(n) {}
  void run(const float *x, float *y) override {
    if (n == 1)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(h),
                  static_cast<blasint>(d), 1.0f, weights,
                  static_cast<blasint>(d), x, 1, 0.0f, y, 1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                  static_cast<blasint>(n), static_cast<blasint>(h),
                  static_cast<blasint>(d), 1.0f, x, static_cast<blasint>(d),
                  weights, static_cast<blasint>(d), 0.0f, y,
                  static_cast<blasint>(h));
  }

private:
  const float *weights;
  int64_t d, h, n;
};

class OpenBlas : public DenseLibrary {
public:
  explicit OpenBlas(int threads) { openblas_set_num_threads(threads); }
  std::string name() const override {
    return n1 ? "OpenBLAS sgemv" : "OpenBLAS sgemm";
  }
  std::unique_ptr<DenseLayer> makeLayer(const float *weights, int64_t d,
                                        int64_t h, int64_t n) override {
    n1 = n == 1;
    return std::make_unique<OpenBlasLayer>(weights, d, h, n);
  }

private:
  bool n1 = false;
};

class OneDnnLayer : public DenseLayer {
public:
  OneDnnLayer(dnnl::engine &engine, dnnl::stream &stream, const float *weights,
              int64_t d, int64_t h, int64_t n)
      : engine(engine), stream(stream) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    srcDesc = dnnl::memory::desc({n, d}, dt::f32, tag::ab);
    dstDesc = dnnl::memory::desc({n, h}, dt::f32, tag::ab);
    // W is [h, d] row-major, i.e. the [d, h] matrix matmul wants in "ba".
    dnnl::memory::desc userWeights({d, h}, dt::f32, tag::ba);
    dnnl::memory::desc anyWeights({d, h}, dt::f32, tag::any);
    dnnl::matmul::desc desc(srcDesc, anyWeights, dstDesc);
    dnnl::matmul::primitive_desc pd(desc, engine);
    primitive = dnnl::matmul(pd);
    dnnl::memory user(userWeights, engine, const_cast<float *>(weights));
    if (pd.weights_desc() != userWeights) {
      packedWeights = dnnl::memory(pd.weights_desc(), engine);
      dnnl::reorder(user, packedWeights).execute(stream, user, packedWeights);
      stream.wait();
    } else {
      packedWeights = user;
    }
  }

  void run(const float *x, float *y) override {
    dnnl::memory src(srcDesc, engine, const_cast<float *>(x));
    dnnl::memory dst(dstDesc, engine, y);
    primitive.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, packedWeights},
                               {DNNL_ARG_DST, dst}});
    stream.wait();
  }

private:
  dnnl::engine &engine;
  dnnl::stream &stream;
  dnnl::memory::desc srcDesc, dstDesc;
  dnnl::memory packedWeights;
  dnnl::matmul primitive;
};

class OneDnn : public DenseLibrary {
public:
  explicit OneDnn(int threads)
      : engine(dnnl::engine::kind::cpu, 0), stream(engine) {
    omp_set_num_threads(threads);
  }
  std::string name() const override { return "oneDNN matmul"; }
  std::unique_ptr<DenseLayer> makeLayer(const float *weights, int64_t d,
                                        int64_t h, int64_t n) override {
    return std::make_unique<OneDnnLayer>(engine, stream, weights, d, h, n);
  }

private:
  dnnl::engine engine;
  dnnl::stream stream;
};

} // namespace

std::unique_ptr<DenseLibrary> makeOpenBlas(int threads) {
  return std::make_unique<OpenBlas>(threads);
}

std::unique_ptr<DenseLibrary> makeOneDnn(int threads) {
  return std::make_unique<OneDnn>(threads);
}

} // namespace mnemo::bench
