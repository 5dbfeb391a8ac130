//===- LayerBench.cpp - Memory Layer vs. dense, measured together -*- C++
//-*-===//

#include "mnemo/Bench/LayerBench.h"
#include "mnemo/Bench/Median.h"

#include "mnemo/Bench/CuBLAS.h"
#include "mnemo/Bench/Dense.h"
#include "mnemo/JIT/Host.h"
#include "mnemo/Runtime/CUDA.h"
#include "mnemo/Support/Float16.h"

#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

namespace mnemo::bench {

namespace {

using Clock = std::chrono::steady_clock;

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Fills `count` elements of `type` at `data` with uniform values in
/// [-1, 1): realistic magnitudes, no NaN, no denormals.
void fillRandom(void *data, size_t count, ElementType type, uint32_t seed) {
  uint32_t state = seed * 2654435761u + 12345u;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
  };
  if (type == ElementType::F32) {
    float *out = static_cast<float *>(data);
    for (size_t i = 0; i < count; ++i)
      out[i] = next();
  } else {
    uint16_t *out = static_cast<uint16_t *>(data);
    for (size_t i = 0; i < count; ++i)
      out[i] =
          type == ElementType::F16 ? floatToHalf(next()) : floatToBf16(next());
  }
}

/// `forced` copies when above 0 (--copies); else enough copies that the
/// copies together are at least twice the LLC (at least 2), within a memory
/// budget.
int copiesFor(int forced, int64_t bytesPerCopy, int64_t llcBytes) {
  if (forced > 0)
    return forced;
  constexpr int64_t kBudget = int64_t{6} << 30;
  int64_t wanted = std::max<int64_t>(2, (2 * llcBytes + bytesPerCopy - 1) /
                                            std::max<int64_t>(1, bytesPerCopy));
  int64_t affordable =
      std::max<int64_t>(1, kBudget / std::max<int64_t>(1, bytesPerCopy));
  return static_cast<int>(std::min(wanted, affordable));
}

/// The layer's kernel compiled with `jit`, its compile time in `result`.
llvm::Expected<std::shared_ptr<MemoryLayerKernel>>
compileKernel(const MemoryLayerConfig &config, const JITOptions &jit,
              LayerBenchResult &result) {
  auto kernel = MemoryLayerKernel::compile(config, jit);
  if (kernel)
    result.compileSeconds = (*kernel)->compileSeconds();
  return kernel;
}

/// Times `call(i)` for i = 0, 1, ...: `iterations` calls, in seconds.
template <typename F> double timeCalls(int64_t iterations, F &&call) {
  auto start = Clock::now();
  for (int64_t i = 0; i < iterations; ++i)
    call(i);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// How many calls fill a round of `seconds`, from a short calibration run.
template <typename F> int64_t calibrate(double seconds, F &&call) {
  int64_t iterations = 1;
  while (true) {
    double elapsed = timeCalls(iterations, call);
    if (elapsed > 0.02 || iterations > (int64_t{1} << 30))
      return std::max<int64_t>(
          1, static_cast<int64_t>(iterations * seconds / elapsed));
    iterations *= 2;
  }
}

/// "512.0 KiB", "32.0 MiB", "64.0 GiB".
std::string formatBytes(double bytes) {
  const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return llvm::formatv("{0:F1} {1}", bytes, units[unit]).str();
}

/// Runs each of `calls` on copies 0, 1, ... `copies` - 1 (page tables, caches,
/// thread pools, lazy initialization), each side for at most about a
/// second: thousands of copies of a tiny layer, or threads oversubscribing
/// the cores, would otherwise keep the warm-up going for minutes. Copies
/// left out are still resident: they were written when they were made.
void warmUp(const std::vector<std::function<void(int64_t)>> &calls,
            int64_t copies) {
  constexpr double kSecondsPerSide = 1.0;
  for (const auto &call : calls) {
    auto start = Clock::now();
    for (int64_t i = 0; i < copies; ++i) {
      call(i);
      if (std::chrono::duration<double>(Clock::now() - start).count() >
          kSecondsPerSide)
        break;
    }
  }
}

/// Lets worker threads of the previous side stop spinning.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(250)); }

/// Calibrates each side's calls (`calls[0]` the Memory Layer, then the
/// dense sides; `call(i)` runs the i-th call) to a round of
/// `opts.roundSeconds`, then runs `opts.rounds` interleaved rounds, the
/// order of the sides rotating between rounds, with `pause()` before each
/// calibration and round. Each round's tokens/s go to `result.mnemo` and
/// `result.dense`.
void measureRounds(const std::vector<std::function<void(int64_t)>> &calls,
                   const LayerBenchOptions &opts, void (*pause)(),
                   LayerBenchResult &result) {
  std::vector<int64_t> iterations;
  for (const auto &call : calls) {
    pause();
    iterations.push_back(calibrate(opts.roundSeconds, call));
  }
  for (int round = 0; round < opts.rounds; ++round)
    for (size_t s = 0; s < calls.size(); ++s) {
      size_t side = (s + static_cast<size_t>(round)) % calls.size();
      pause();
      double seconds = timeCalls(iterations[side], calls[side]);
      SideResult &into = side == 0 ? result.mnemo : result.dense[side - 1];
      into.roundTokensPerSecond.push_back(
          static_cast<double>(iterations[side] * opts.tokens) / seconds);
    }
}

/// Medians, the fastest dense side, the speedup and the table bandwidth of
/// a run's rounds.
LayerBenchResult summarize(LayerBenchResult result,
                           const LayerBenchOptions &opts);

/// The GPU side by side with cuBLAS (see runLayerBench).
llvm::Expected<LayerBenchResult> runGPULayerBench(const LayerBenchOptions &opts,
                                                  MemoryLayerConfig config) {
  auto device = cuda::device();
  if (!device)
    return makeError("--target cuda: " + toString(device.takeError()));
  auto blas = CuBLAS::load();
  if (!blas)
    return makeError("--target cuda: " + toString(blas.takeError()));
  LayerBenchResult result;
  result.bitsPerTable = config.bitsPerTable;
  result.lastLevelCacheBytes = device->l2CacheBytes;
  result.host = device->name + " (" + device->chip() + ")";
  result.peakGBPerSecond = device->peakBandwidth / 1e9;
  JITOptions jit = opts.jit;
  jit.target = "cuda";
  auto kernel = compileKernel(config, jit, result);
  if (!kernel)
    return kernel.takeError();

  const int64_t n = opts.tokens, d = opts.hidden, h = opts.out;
  const size_t tableElements = static_cast<size_t>(config.tableElements());
  const int64_t tableBytes =
      static_cast<int64_t>(tableElements) * elementBytes(opts.tableType);
  const int64_t l2 = device->l2CacheBytes;
  const int numInputs = static_cast<int>(std::clamp<int64_t>(
      (int64_t{1} << 30) / std::max<int64_t>(1, n * d * 4), 2, 16));
  const int tableCopies = copiesFor(opts.copies, tableBytes, l2);
  const int denseCopies = copiesFor(opts.copies, d * h * 4, l2);
  double needed = static_cast<double>(tableCopies) * tableBytes +
                  denseCopies * 6.0 * d * h + numInputs * 6.0 * n * d +
                  4.0 * n * h;
  if (needed > 0.9 * static_cast<double>(device->memoryBytes))
    return makeError(
        llvm::formatv("--target cuda: the layer copies and inputs need {0}, "
                      "more than the {1} of GPU memory",
                      formatBytes(needed),
                      formatBytes(static_cast<double>(device->memoryBytes)))
            .str());

  std::vector<cuda::DeviceBuffer> tables, weights, halfWeights, inputs,
      halfInputs;
  auto add = [&](std::vector<cuda::DeviceBuffer> &into, const void *data,
                 size_t bytes) -> llvm::Error {
    auto buffer = cuda::DeviceBuffer::copyOf(data, bytes);
    if (!buffer)
      return buffer.takeError();
    into.push_back(std::move(*buffer));
    return llvm::Error::success();
  };
  {
    std::vector<uint8_t> host(static_cast<size_t>(tableBytes));
    for (int c = 0; c < tableCopies; ++c) {
      fillRandom(host.data(), tableElements, opts.tableType,
                 static_cast<uint32_t>(c + 1));
      if (llvm::Error error = add(tables, host.data(), host.size()))
        return std::move(error);
    }
    std::vector<float> dense(static_cast<size_t>(d * h));
    std::vector<uint16_t> half(dense.size());
    for (int c = 0; c < denseCopies; ++c) {
      fillRandom(dense.data(), dense.size(), ElementType::F32,
                 static_cast<uint32_t>(1000 + c));
      for (size_t i = 0; i < dense.size(); ++i)
        half[i] = floatToHalf(dense[i]);
      if (llvm::Error error =
              add(weights, dense.data(), dense.size() * sizeof(float)))
        return std::move(error);
      if (llvm::Error error =
              add(halfWeights, half.data(), half.size() * sizeof(uint16_t)))
        return std::move(error);
    }
    std::vector<float> x(static_cast<size_t>(n * d));
    std::vector<uint16_t> halfX(x.size());
    for (int i = 0; i < numInputs; ++i) {
      fillRandom(x.data(), x.size(), ElementType::F32,
                 static_cast<uint32_t>(7000 + i));
      for (size_t j = 0; j < x.size(); ++j)
        halfX[j] = floatToHalf(x[j]);
      if (llvm::Error error = add(inputs, x.data(), x.size() * sizeof(float)))
        return std::move(error);
      if (llvm::Error error =
              add(halfInputs, halfX.data(), halfX.size() * sizeof(uint16_t)))
        return std::move(error);
    }
  }
  auto output = cuda::DeviceBuffer::allocate(static_cast<size_t>(n * h) * 4);
  if (!output)
    return output.takeError();
  float *y = static_cast<float *>(output->data());
  std::vector<PreparedLayer> layers;
  for (const cuda::DeviceBuffer &table : tables) {
    auto prepared = (*kernel)->prepare(table.data(), nullptr);
    if (!prepared)
      return prepared.takeError();
    layers.push_back(std::move(*prepared));
  }

  llvm::Error runError = llvm::Error::success();
  auto keep = [&](llvm::Error error) {
    if (error && !runError)
      runError = std::move(error);
    else
      llvm::consumeError(std::move(error));
  };
  std::vector<std::function<void(int64_t)>> calls = {
      [&](int64_t i) {
        keep((*kernel)->run(
            layers[i % layers.size()],
            static_cast<const float *>(inputs[i % numInputs].data()), n, y));
      },
      [&](int64_t i) {
        keep((*blas)->sgemm(
            static_cast<const float *>(weights[i % denseCopies].data()),
            static_cast<const float *>(inputs[i % numInputs].data()), y, n, d,
            h));
      },
      [&](int64_t i) {
        keep((*blas)->hgemm(halfWeights[i % denseCopies].data(),
                            halfInputs[i % numInputs].data(), y, n, d, h));
      }};
  result.mnemo.name = "mnemo";
  result.mnemo.copies = tableCopies;
  result.mnemo.bytesPerCopy = tableBytes;
  for (const char *name : {"cublas-sgemm", "cublas-gemmex-f16"}) {
    SideResult side;
    side.name = name;
    side.copies = denseCopies;
    side.bytesPerCopy = d * h * (side.name == "cublas-sgemm" ? 4 : 2);
    result.dense.push_back(side);
  }
  // Warm up the copies (and the driver's compilation of the PTX).
  warmUp(calls, std::max(tableCopies, denseCopies));
  if (runError)
    return std::move(runError);
  measureRounds(
      calls, opts, [] {}, result);
  if (runError)
    return std::move(runError);
  return std::move(result);
}

} // namespace

llvm::Expected<LayerBenchResult> runLayerBench(const LayerBenchOptions &opts) {
  if (opts.tokens < 1)
    return makeError("--tokens must be at least 1, got " +
                     llvm::Twine(opts.tokens));
  if (opts.tables < 1 || opts.hidden < 1 || opts.hidden % opts.tables != 0)
    return makeError("--hidden (" + llvm::Twine(opts.hidden) +
                     ") must be a positive multiple of --tables (" +
                     llvm::Twine(opts.tables) + ")");
  if (opts.threads < 1 || opts.rounds < 1 || !(opts.roundSeconds > 0))
    return makeError("--threads and --rounds must be positive");
  if (int64_t tau = opts.hidden / opts.tables;
      tau > MemoryLayerConfig::kMaxBitsPerTable)
    return makeError("--hidden / --tables is " + llvm::Twine(tau) +
                     " bits per table; a Memory Layer takes 1 to " +
                     llvm::Twine(MemoryLayerConfig::kMaxBitsPerTable));
  // Both sides' threads share the CPUs: beyond them a round times the
  // scheduler, and OpenBLAS's workers, which yield while they wait, slowed
  // a tiny layer's run to minutes.
  if (int64_t cpus = getHostInfo().cores;
      opts.jit.target != "cuda" && opts.threads > cpus)
    return makeError("--threads " + llvm::Twine(opts.threads) +
                     " is more than the " + llvm::Twine(cpus) +
                     " CPUs of this machine");
  if (opts.jit.target != "cuda" &&
      (opts.jit.splitTablesBelow >= 0 || opts.jit.threadsPerBlock > 0))
    return makeError("--split-tables-below and --threads-per-block shape the "
                     "GPU kernels (--target cuda)");

  MemoryLayerConfig config;
  config.numTables = opts.tables;
  config.bitsPerTable = opts.hidden / opts.tables;
  config.outputWidth = opts.out;
  config.tableType = opts.tableType;
  config.weighting = opts.weighting;
  config.numTokens = opts.tokens;
  if (opts.jit.target == "cuda") {
    auto result = runGPULayerBench(opts, config);
    if (!result)
      return result.takeError();
    return summarize(std::move(*result), opts);
  }

  const HostInfo &host = getHostInfo();
  LayerBenchResult result;
  result.bitsPerTable = config.bitsPerTable;
  result.lastLevelCacheBytes = host.l3CacheBytes;
  result.host = host.cpuName;
  JITOptions jit = opts.jit;
  jit.threads = opts.threads;
  omp_set_num_threads(opts.threads);
  // Worker threads spin 1 ms after a parallel region: enough for calls that
  // follow each other, short enough not to disturb the other side.
  kmp_set_blocktime(1);
  auto kernel = compileKernel(config, jit, result);
  if (!kernel)
    return kernel.takeError();

  const int64_t n = opts.tokens, d = opts.hidden, h = opts.out;
  const size_t tableElements = static_cast<size_t>(config.tableElements());
  const int64_t tableBytes =
      static_cast<int64_t>(tableElements) * elementBytes(opts.tableType);
  const int64_t denseBytes = d * h * 4;
  const int numInputs = static_cast<int>(std::clamp<int64_t>(
      (int64_t{256} << 20) / std::max<int64_t>(1, n * d * 4), 2, 16));
  const int tableCopies = copiesFor(opts.copies, tableBytes, host.l3CacheBytes);
  const int denseCopies = copiesFor(opts.copies, denseBytes, host.l3CacheBytes);

  // Refuse what cannot be held in memory before allocating any of it, naming
  // the option behind the largest part. Each table copy may be packed into a
  // second buffer of the same size.
  double weightBytes = 2.0 * tableCopies * static_cast<double>(tableBytes) +
                       static_cast<double>(denseCopies) * denseBytes;
  double activationBytes = 4.0 * n * (static_cast<double>(numInputs) * d + h);
  double available = static_cast<double>(getAvailableMemoryBytes());
  if (available > 0 && weightBytes + activationBytes > 0.9 * available) {
    std::string what;
    if (activationBytes > weightBytes)
      what = llvm::formatv("--tokens: {0} inputs of {1} x {2} f32 and the "
                           "output",
                           numInputs, n, d);
    else
      what = llvm::formatv(
          "{0}: {1} {2} of {3} tables of {4} x {5} {6} ({7} each) and of the "
          "dense weights",
          opts.copies > 1 ? "--copies" : "--out", tableCopies,
          tableCopies == 1 ? "copy" : "copies", config.numTables,
          config.numBuckets(), h, elementTypeName(opts.tableType),
          formatBytes(static_cast<double>(tableBytes)));
    return makeError(
        what + " need " + formatBytes(weightBytes + activationBytes) +
        ", more than the " + formatBytes(available) + " of memory available");
  }

  // Inputs: distinct matrices, cycled.
  std::vector<std::vector<float>> inputs(numInputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs[i].resize(static_cast<size_t>(n * d));
    fillRandom(inputs[i].data(), inputs[i].size(), ElementType::F32,
               static_cast<uint32_t>(7000 + i));
  }
  std::vector<float> output(static_cast<size_t>(n * h));

  // Memory Layer copies.
  result.mnemo.name = "mnemo";
  result.mnemo.copies = tableCopies;
  result.mnemo.bytesPerCopy = tableBytes;
  std::vector<AlignedBuffer> tables;
  std::vector<PreparedLayer> layers;
  for (int c = 0; c < tableCopies; ++c) {
    auto buffer = AlignedBuffer::allocate(static_cast<size_t>(tableBytes));
    if (!buffer)
      return buffer.takeError();
    tables.push_back(std::move(*buffer));
    fillRandom(tables.back().data(), tableElements, opts.tableType,
               static_cast<uint32_t>(c + 1));
    auto prepared = (*kernel)->prepare(tables.back().data(), nullptr);
    if (!prepared)
      return prepared.takeError();
    layers.push_back(std::move(*prepared));
  }
  llvm::Error runError = llvm::Error::success();
  auto mnemoCall = [&](int64_t i) {
    const PreparedLayer &layer = layers[i % layers.size()];
    if (llvm::Error error = (*kernel)->run(layer, inputs[i % numInputs].data(),
                                           n, output.data()))
      runError = std::move(error);
  };

  // Dense copies, one set shared by both libraries.
  std::vector<std::vector<float>> weights(denseCopies);
  for (int c = 0; c < denseCopies; ++c) {
    weights[c].resize(static_cast<size_t>(d * h));
    fillRandom(weights[c].data(), weights[c].size(), ElementType::F32,
               static_cast<uint32_t>(1000 + c));
  }
  std::vector<std::unique_ptr<DenseLibrary>> libraries;
  libraries.push_back(makeOpenBlas(opts.threads));
  libraries.push_back(makeOneDnn(opts.threads));
  std::vector<std::vector<std::unique_ptr<DenseLayer>>> denseLayers(
      libraries.size());
  for (size_t l = 0; l < libraries.size(); ++l) {
    for (int c = 0; c < denseCopies; ++c)
      denseLayers[l].push_back(
          libraries[l]->makeLayer(weights[c].data(), d, h, n));
    SideResult side;
    side.name = libraries[l]->name();
    side.copies = denseCopies;
    side.bytesPerCopy = denseBytes;
    result.dense.push_back(side);
  }
  auto denseCall = [&](size_t library) {
    return [&, library](int64_t i) {
      denseLayers[library][i % denseCopies]->run(inputs[i % numInputs].data(),
                                                 output.data());
    };
  };

  // Warm up the copies, then calibrate each side to a round's duration.
  std::vector<std::function<void(int64_t)>> calls = {mnemoCall};
  for (size_t l = 0; l < libraries.size(); ++l)
    calls.push_back(denseCall(l));
  warmUp(calls, std::max(tableCopies, denseCopies));
  if (runError)
    return std::move(runError);
  measureRounds(calls, opts, settle, result);
  if (runError)
    return std::move(runError);
  return summarize(std::move(result), opts);
}

namespace {

LayerBenchResult summarize(LayerBenchResult result,
                           const LayerBenchOptions &opts) {
  result.mnemo.tokensPerSecond = median(result.mnemo.roundTokensPerSecond);
  for (SideResult &side : result.dense)
    side.tokensPerSecond = median(side.roundTokensPerSecond);
  for (size_t l = 1; l < result.dense.size(); ++l)
    if (result.dense[l].tokensPerSecond >
        result.dense[result.fastestDense].tokensPerSecond)
      result.fastestDense = l;
  result.speedup = result.mnemo.tokensPerSecond /
                   result.dense[result.fastestDense].tokensPerSecond;
  // Each token reads one row of h values from each of the K tables.
  result.tableGBPerSecond = result.mnemo.tokensPerSecond *
                            static_cast<double>(opts.tables * opts.out) *
                            elementBytes(opts.tableType) / 1e9;
  return result;
}

} // namespace

std::string LayerBenchResult::toJSON(const LayerBenchOptions &opts) const {
  nlohmann::json json;
  json["mnemo_tokens_per_s"] = mnemo.tokensPerSecond;
  json["dense_tokens_per_s"] = dense[fastestDense].tokensPerSecond;
  json["speedup"] = speedup;
  json["table_gb_per_s"] = tableGBPerSecond;
  json["dense_library"] = dense[fastestDense].name;
  for (const SideResult &side : dense)
    json["dense_all"][side.name] = side.tokensPerSecond;
  json["tokens"] = opts.tokens;
  json["hidden"] = opts.hidden;
  json["tables"] = opts.tables;
  json["bits_per_table"] = bitsPerTable;
  json["out"] = opts.out;
  json["dtype"] = std::string(elementTypeName(opts.tableType));
  json["threads"] = opts.threads;
  json["rounds"] = opts.rounds;
  json["mnemo_rounds_tokens_per_s"] = mnemo.roundTokensPerSecond;
  json["table_copies"] = mnemo.copies;
  json["dense_copies"] = dense[fastestDense].copies;
  json["compile_seconds"] = compileSeconds;
  json["host"] = host;
  json["target"] = peakGBPerSecond > 0 ? "cuda" : "cpu";
  if (peakGBPerSecond > 0) {
    json["peak_gb_per_s"] = peakGBPerSecond;
    json["table_fraction_of_peak"] = tableGBPerSecond / peakGBPerSecond;
  }
  return json.dump();
}

std::string LayerBenchResult::toText(const LayerBenchOptions &opts) const {
  auto mib = [](double bytes) { return bytes / (1024.0 * 1024.0); };
  std::string text = llvm::formatv(
      "Memory Layer N={0} d={1} K={2} tau={3} h={4}, {5} tables, {6} "
      "thread(s), host {7}\n",
      opts.tokens, opts.hidden, opts.tables, bitsPerTable, opts.out,
      elementTypeName(opts.tableType), opts.threads, host);
  text += llvm::formatv("  {0,-16} {1,12:N} tokens/s   (table rows {2:F2} "
                        "GB/s)\n",
                        "mnemo", mnemo.tokensPerSecond, tableGBPerSecond);
  if (peakGBPerSecond > 0)
    text += llvm::formatv("  table rows at {0:P1} of the GPU's peak memory "
                          "bandwidth ({1:F0} GB/s)\n",
                          tableGBPerSecond / peakGBPerSecond, peakGBPerSecond);
  for (const SideResult &side : dense)
    text += llvm::formatv("  {0,-16} {1,12:N} tokens/s\n", side.name,
                          side.tokensPerSecond);
  text += llvm::formatv("  speedup over the fastest dense path ({0}): "
                        "{1:F2}x\n",
                        dense[fastestDense].name, speedup);
  text += llvm::formatv(
      "  median of {0} interleaved rounds; working sets: {1} x {2:F1} MiB "
      "of tables, {3} x {4:F1} MiB of dense weights (LLC {5:F0} MiB); JIT "
      "compile {6:F0} ms\n",
      opts.rounds, mnemo.copies, mib(mnemo.bytesPerCopy),
      dense[fastestDense].copies, mib(dense[fastestDense].bytesPerCopy),
      mib(lastLevelCacheBytes), compileSeconds * 1000);
  return text;
}

} // namespace mnemo::bench
