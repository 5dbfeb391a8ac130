//===- MemoryLayerBench.cpp - Google Benchmark: layer vs. dense -*- C++ -*-===//
//
// Memory Layers (MemoryFormer tiny: d = h = 512, K = 64, tau = 8) and the
// dense f32 layers of the same shape, for token counts from decoding (1) to
// prefill (2048), f32 and f16 tables. Like `mnemoc bench layer`, calls cycle
// through enough layer copies to exceed the last-level cache and through
// distinct inputs; `mnemoc bench layer` additionally interleaves the sides
// and reports medians and ratios. Also: the LM head, JIT compile time, and
// the runtime's causal attention against the same attention through BLAS.
//
//   build/bin/mnemo-bench --benchmark_filter=N:2048
//
//===----------------------------------------------------------------------===//

#include "mnemo/Bench/Dense.h"
#include "mnemo/JIT/Host.h"
#include "mnemo/JIT/MemoryLayer.h"
#include "mnemo/Runtime/Kernels.h"
#include "mnemo/Support/Float16.h"

#include "mnemo/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <random>

using namespace mnemo;

namespace {

constexpr int64_t kHidden = 512, kTables = 64, kOut = 512;

int threads() { return static_cast<int>(getHostInfo().cores); }

/// Copies that together exceed twice the last-level cache.
int copiesFor(int64_t bytes) {
  return static_cast<int>(std::max<int64_t>(
      2, 2 * getHostInfo().l3CacheBytes / std::max<int64_t>(1, bytes) + 1));
}

std::vector<std::vector<float>> inputs(int64_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<std::vector<float>> result(4);
  for (auto &x : result) {
    x.resize(static_cast<size_t>(n * kHidden));
    for (float &v : x)
      v = uniform(rng);
  }
  return result;
}

/// Times `call(i)`, the i-th call writing `out` (an error skips the
/// benchmark), and reports `n` tokens per call as a rate.
template <typename Call>
void timeCalls(benchmark::State &state, int64_t n, void *out, Call call) {
  size_t i = 0;
  for (auto _ : state) {
    if (llvm::Error error = call(i++)) {
      state.SkipWithError(llvm::toString(std::move(error)).c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void memoryLayer(benchmark::State &state, ElementType type) {
  int64_t n = state.range(0);
  omp_set_num_threads(threads());
  MemoryLayerConfig config;
  config.numTables = kTables;
  config.bitsPerTable = kHidden / kTables;
  config.outputWidth = kOut;
  config.tableType = type;
  config.numTokens = n;
  JITOptions options;
  options.threads = threads();
  auto kernel = MemoryLayerKernel::compile(config, options);
  if (!kernel) {
    state.SkipWithError(llvm::toString(kernel.takeError()).c_str());
    return;
  }
  size_t elements = static_cast<size_t>(config.tableElements());
  int64_t bytes = static_cast<int64_t>(elements) * elementBytes(type);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<AlignedBuffer> tables;
  std::vector<PreparedLayer> layers;
  for (int c = 0; c < copiesFor(bytes); ++c) {
    auto buffer = AlignedBuffer::allocate(static_cast<size_t>(bytes));
    if (!buffer) {
      state.SkipWithError(llvm::toString(buffer.takeError()).c_str());
      return;
    }
    tables.push_back(std::move(*buffer));
    for (size_t i = 0; i < elements; ++i) {
      float v = uniform(rng);
      if (type == ElementType::F32)
        static_cast<float *>(tables.back().data())[i] = v;
      else
        static_cast<uint16_t *>(tables.back().data())[i] = floatToHalf(v);
    }
    auto prepared = (*kernel)->prepare(tables.back().data(), nullptr);
    if (!prepared) {
      state.SkipWithError(llvm::toString(prepared.takeError()).c_str());
      return;
    }
    layers.push_back(std::move(*prepared));
  }
  auto xs = inputs(n);
  std::vector<float> y(static_cast<size_t>(n * kOut));
  timeCalls(state, n, y.data(), [&](size_t i) {
    return (*kernel)->run(layers[i % layers.size()], xs[i % xs.size()].data(),
                          n, y.data());
  });
}

void dense(benchmark::State &state,
           std::unique_ptr<bench::DenseLibrary> (*make)(int)) {
  int64_t n = state.range(0);
  auto library = make(threads());
  int64_t bytes = kHidden * kOut * 4;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<std::vector<float>> weights(copiesFor(bytes));
  std::vector<std::unique_ptr<bench::DenseLayer>> layers;
  for (auto &w : weights) {
    w.resize(static_cast<size_t>(kHidden * kOut));
    for (float &v : w)
      v = uniform(rng);
    layers.push_back(library->makeLayer(w.data(), kHidden, kOut, n));
  }
  auto xs = inputs(n);
  std::vector<float> y(static_cast<size_t>(n * kOut));
  timeCalls(state, n, y.data(), [&](size_t i) {
    layers[i % layers.size()]->run(xs[i % xs.size()].data(), y.data());
    return llvm::Error::success();
  });
}

constexpr int64_t kVocab = 50304;

/// The LM head `y = x W^T` with an f16 weight `[kVocab, kHidden]`: the
/// generated code of `-mnemo-lower-linear`.
void lmHead(benchmark::State &state) {
  int64_t n = state.range(0);
  omp_set_num_threads(threads());
  std::string in = std::to_string(kHidden), vocab = std::to_string(kVocab);
  std::string x = "tensor<?x" + in + "xf32>",
              w = "tensor<" + vocab + "x" + in + "xf16>",
              y = "tensor<?x" + vocab + "xf32>";
  std::string source = "func.func @head(%x: " + x + ", %w: " + w + ") -> " + y +
                       " {\n  %y = mnemo.linear %x, %w : (" + x + ", " + w +
                       ") -> " + y + "\n  return %y : " + y + "\n}\n";
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  JITOptions options;
  options.threads = threads();
  auto compiled = compileModule(*module, options);
  if (!compiled) {
    state.SkipWithError(llvm::toString(compiled.takeError()).c_str());
    return;
  }
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<uint16_t> weight(static_cast<size_t>(kVocab * kHidden));
  for (uint16_t &v : weight)
    v = floatToHalf(uniform(rng));
  auto xs = inputs(n);
  std::vector<float> out(static_cast<size_t>(n * kVocab));
  timeCalls(state, n, out.data(), [&](size_t i) {
    return (*compiled)->call("head", {{xs[i % xs.size()].data(), {n, kHidden}},
                                      {weight.data(), {kVocab, kHidden}},
                                      {out.data(), {n, kVocab}}});
  });
}

/// The same head in f32 through a dense library.
void denseHead(benchmark::State &state,
               std::unique_ptr<bench::DenseLibrary> (*make)(int)) {
  int64_t n = state.range(0);
  auto library = make(threads());
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> weight(static_cast<size_t>(kVocab * kHidden));
  for (float &v : weight)
    v = uniform(rng);
  auto layer = library->makeLayer(weight.data(), kHidden, kVocab, n);
  auto xs = inputs(n);
  std::vector<float> out(static_cast<size_t>(n * kVocab));
  timeCalls(state, n, out.data(), [&](size_t i) {
    layer->run(xs[i % xs.size()].data(), out.data());
    return llvm::Error::success();
  });
}

void applyHeadSizes(benchmark::internal::Benchmark *b) {
  b->ArgName("N");
  for (int64_t n : {1, 4, 16, 64, 256})
    b->Arg(n);
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

/// Causal attention of the tiny model's shape (8 heads of 64), `n` queries
/// over `n` keys (a prefill) or 1 query over `m` keys (a decoding step), as
/// the runtime runs it (`_mlir_ciface_mnemo_causal_attention`, on the
/// OpenMP team) and, as the baseline, through OpenBLAS: per head and block
/// of 128 queries an `sgemm` (`sgemv` for one query) for the scores, a
/// softmax per row, another for the outputs (what the runtime did before
/// 2026-11-23).
constexpr int64_t kHeads = 8, kHeadDim = 64, kWidth = kHeads * kHeadDim;

void blasAttention(const float *q, int64_t n, const float *k, const float *v,
                   int64_t m, float *out) {
  constexpr int64_t kBlock = 128;
  float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  std::vector<float> scores(static_cast<size_t>(std::min(n, kBlock) * m));
  for (int64_t h = 0; h < kHeads; ++h) {
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
      int rows = static_cast<int>(std::min(kBlock, n - i0));
      int keys = static_cast<int>(m - n + i0 + rows);
      const float *qh = q + i0 * kWidth + h * kHeadDim;
      if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, keys, kHeadDim, scale,
                    k + h * kHeadDim, kWidth, qh, 1, 0.0f, scores.data(), 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, keys,
                    kHeadDim, scale, qh, kWidth, k + h * kHeadDim, kWidth, 0.0f,
                    scores.data(), keys);
      for (int r = 0; r < rows; ++r) {
        float *row = scores.data() + static_cast<int64_t>(r) * keys;
        int64_t seen = m - n + i0 + r + 1;
        float largest = *std::max_element(row, row + seen);
        double total = 0.0;
        for (int64_t j = 0; j < seen; ++j)
          total += row[j] = std::exp(row[j] - largest);
        for (int64_t j = 0; j < keys; ++j)
          row[j] = j < seen ? static_cast<float>(row[j] / total) : 0.0f;
      }
      float *oh = out + i0 * kWidth + h * kHeadDim;
      if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, keys, kHeadDim, 1.0f,
                    v + h * kHeadDim, kWidth, scores.data(), 1, 0.0f, oh, 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kHeadDim,
                    keys, 1.0f, scores.data(), keys, v + h * kHeadDim, kWidth,
                    0.0f, oh, kWidth);
    }
  }
}

void attention(benchmark::State &state, bool blas) {
  int64_t m = state.range(0), n = state.range(1);
  omp_set_num_threads(threads());
  auto blasThreads = bench::makeOpenBlas(threads()); // sets its threads
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto fill = [&](int64_t rows) {
    std::vector<float> x(static_cast<size_t>(rows * kWidth));
    for (float &e : x)
      e = uniform(rng);
    return x;
  };
  std::vector<float> q = fill(n), k = fill(m), v = fill(m), out = fill(n);
  auto view = [](std::vector<float> &x, int64_t rows) {
    return StridedMemRefType<float, 2>{
        x.data(), x.data(), 0, {rows, kWidth}, {kWidth, 1}};
  };
  auto qRef = view(q, n), kRef = view(k, m), vRef = view(v, m),
       outRef = view(out, n);
  timeCalls(state, n, out.data(), [&](size_t) {
    if (blas)
      blasAttention(q.data(), n, k.data(), v.data(), m, out.data());
    else
      _mlir_ciface_mnemo_causal_attention(
          &qRef, &kRef, &vRef, &outRef, kHeads,
          1.0f / std::sqrt(static_cast<float>(kHeadDim)));
    return llvm::Error::success();
  });
}

void applyAttentionSizes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"keys", "queries"});
  for (int64_t n : {512, 2048})
    b->Args({n, n});
  for (int64_t m : {512, 2048})
    b->Args({m, 1});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

/// JIT compile time of one configuration in a warm process (the first
/// compile of a process also pays for loading dialects and initializing
/// LLVM), with the LLVM side on `compile_threads` threads. Each iteration
/// compiles anew, bypassing the in-process cache.
void compileLayer(benchmark::State &state, ElementType type) {
  MemoryLayerConfig config;
  config.numTables = kTables;
  config.bitsPerTable = kHidden / kTables;
  config.outputWidth = kOut;
  config.tableType = type;
  config.numTokens = state.range(0);
  JITOptions options;
  options.threads = threads();
  options.compileThreads = state.range(1);
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  for (auto _ : state) {
    mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
    auto module =
        mlir::parseSourceString<mlir::ModuleOp>(config.toMLIR(), &context);
    auto compiled = compileModule(*module, options);
    if (!compiled) {
      state.SkipWithError(llvm::toString(compiled.takeError()).c_str());
      return;
    }
  }
}

void applySizes(benchmark::internal::Benchmark *b) {
  b->ArgName("N");
  for (int64_t n : {1, 7, 64, 2048})
    b->Arg(n);
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

} // namespace

BENCHMARK_CAPTURE(memoryLayer, f32, ElementType::F32)->Apply(applySizes);
BENCHMARK_CAPTURE(memoryLayer, f16, ElementType::F16)->Apply(applySizes);
BENCHMARK_CAPTURE(dense, openblas, &bench::makeOpenBlas)->Apply(applySizes);
BENCHMARK_CAPTURE(dense, onednn, &bench::makeOneDnn)->Apply(applySizes);
BENCHMARK(lmHead)->Apply(applyHeadSizes);
BENCHMARK_CAPTURE(attention, runtime, false)->Apply(applyAttentionSizes);
BENCHMARK_CAPTURE(attention, openblas, true)->Apply(applyAttentionSizes);
BENCHMARK_CAPTURE(denseHead, openblas, &bench::makeOpenBlas)
    ->Apply(applyHeadSizes);
BENCHMARK_CAPTURE(denseHead, onednn, &bench::makeOneDnn)->Apply(applyHeadSizes);

/// N in {1, 2048}, compile threads 1 and one per CPU.
void applyCompileSizes(benchmark::internal::Benchmark *b) {
  b->ArgNames({"N", "compile_threads"});
  std::vector<int64_t> counts = {1};
  if (int64_t cpus = JITOptions().compileThreadCount(); cpus > 1)
    counts.push_back(cpus);
  for (int64_t n : {1, 2048})
    for (int64_t threads : counts)
      b->Args({n, threads});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(compileLayer, f32, ElementType::F32)
    ->Apply(applyCompileSizes);
BENCHMARK_CAPTURE(compileLayer, f16, ElementType::F16)
    ->Apply(applyCompileSizes);
BENCHMARK_CAPTURE(compileLayer, bf16, ElementType::BF16)
    ->Apply(applyCompileSizes);

BENCHMARK_MAIN();
