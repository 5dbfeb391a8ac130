//===- LayerCommands.cpp - mnemoc eval-layer and bench layer ----*- C++ -*-===//
//
// One Memory Layer at a time: `eval-layer` runs it on NumPy files (with the
// JIT or the reference), `bench layer` measures it against dense BLAS.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "mnemo/Bench/LayerBench.h"
#include "mnemo/JIT/Host.h"
#include "mnemo/JIT/MemoryLayer.h"
#include "mnemo/Reference/Reference.h"
#include "mnemo/Runtime/CUDA.h"
#include "mnemo/Support/Float16.h"
#include "mnemo/Support/Npy.h"

#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <omp.h>

#include <cmath>
#include <memory>

using namespace mnemo;

namespace mnemoc {

namespace {

//===----------------------------------------------------------------------===//
// eval-layer
//===----------------------------------------------------------------------===//

struct EvalLayerOptions {
  std::string input, tables, bias, output;
  std::string engine = "jit";
  std::string target = "cpu";
  std::string weighting = "l1_prob";
  double temperature = 1.0;
  bool temperatureGiven = false;
  int threads = 0;
};

int evalLayer(const EvalLayerOptions &opts) {
  auto x = readNpy(opts.input);
  if (!x)
    return reportError(x.takeError());
  if (x->type != NpyType::F32 || x->shape.size() != 2)
    return reportError(opts.input +
                       ": the input must be a 2-D float32 array "
                       "[N, d], got a " +
                       llvm::Twine(x->shape.size()) + "-D " +
                       npyTypeName(x->type) + " array");
  auto tables = readNpy(opts.tables);
  if (!tables)
    return reportError(tables.takeError());
  if (tables->shape.size() != 3 ||
      (tables->type != NpyType::F32 && tables->type != NpyType::F16))
    return reportError(opts.tables +
                       ": the tables must be a 3-D float32 or "
                       "float16 array [K, 2^tau, h], got a " +
                       llvm::Twine(tables->shape.size()) + "-D " +
                       npyTypeName(tables->type) + " array");
  int64_t numTables = tables->shape[0], rows = tables->shape[1];
  int64_t width = tables->shape[2];
  if (numTables < 1 || width < 1)
    return reportError(opts.tables + ": the tables [K, 2^tau, h] = [" +
                       llvm::Twine(numTables) + ", " + llvm::Twine(rows) +
                       ", " + llvm::Twine(width) +
                       "] hold no table or no "
                       "column");
  if (rows < 2 || (rows & (rows - 1)) != 0)
    return reportError(opts.tables + ": the tables have " + llvm::Twine(rows) +
                       " rows each, which is not 2^tau for a tau in [1, 16]");
  if (rows > 65536)
    return reportError(opts.tables + ": the tables have " + llvm::Twine(rows) +
                       " rows each, so tau = " +
                       llvm::Twine(llvm::Log2_64(static_cast<uint64_t>(rows))) +
                       ", more than 16");
  int64_t tau = llvm::Log2_64(static_cast<uint64_t>(rows));
  if (x->shape[1] != numTables * tau)
    return reportError(
        opts.input + ": input width " + llvm::Twine(x->shape[1]) +
        " must equal K * tau = " + llvm::Twine(numTables) + " * " +
        llvm::Twine(tau) + " = " + llvm::Twine(numTables * tau) + " (from " +
        opts.tables + ")");
  std::optional<NpyArray> bias;
  if (!opts.bias.empty()) {
    auto read = readNpy(opts.bias);
    if (!read)
      return reportError(read.takeError());
    if (read->type != NpyType::F32 || read->shape.size() != 1 ||
        read->shape[0] != width)
      return reportError(opts.bias +
                         ": the bias must be a float32 array [h] "
                         "= [" +
                         llvm::Twine(width) + "]");
    bias = std::move(*read);
  }

  MemoryLayerConfig config;
  config.numTables = numTables;
  config.bitsPerTable = tau;
  config.outputWidth = width;
  config.tableType =
      tables->type == NpyType::F16 ? ElementType::F16 : ElementType::F32;
  config.weighting =
      opts.weighting == "prob" ? Weighting::Prob : Weighting::L1Prob;
  config.temperature = static_cast<float>(opts.temperature);
  config.hasBias = bias.has_value();
  if (!(opts.temperature > 0) || !std::isfinite(opts.temperature))
    return reportError("--temperature must be a positive finite number");
  if (config.weighting == Weighting::L1Prob && opts.temperatureGiven &&
      opts.temperature != 1.0)
    return reportError("--temperature applies to --weighting prob only; "
                       "l1_prob has no temperature");

  int64_t n = x->shape[0];
  std::vector<float> y(static_cast<size_t>(n * width));
  if (opts.engine == "reference") {
    // The oracle, on the tables widened to f32 (exactly).
    std::vector<float> wide(static_cast<size_t>(tables->numElements()));
    for (size_t i = 0; i < wide.size(); ++i)
      wide[i] = tables->type == NpyType::F16
                    ? halfToFloat(tables->as<uint16_t>()[i])
                    : tables->as<float>()[i];
    ref::MemoryLayerShape shape{numTables, tau, width, config.weighting,
                                opts.temperature};
    y = ref::memoryLayer(x->as<float>(), n, wide.data(),
                         bias ? bias->as<float>() : nullptr, shape);
    if (llvm::Error error =
            writeNpy(opts.output, NpyType::F32, {n, width}, y.data()))
      return reportError(std::move(error));
    return 0;
  }

  JITOptions jit;
  jit.threads = opts.threads > 0 ? opts.threads : getHostInfo().cores;
  jit.target = opts.target;
  bool onGPU = opts.target == "cuda";
  // Fails here, before compiling, on a machine without a usable GPU.
  if (onGPU)
    if (llvm::Error error = cuda::initialize())
      return reportError("--target cuda: " + toString(std::move(error)));
  if (!onGPU)
    omp_set_num_threads(static_cast<int>(jit.threads));
  auto kernel = MemoryLayerKernel::compile(config, jit);
  if (!kernel)
    return reportError(kernel.takeError());

  // The kernel's operands: the files' data, or their copies on the GPU.
  const void *xData = x->bytes.data(), *tableData = tables->bytes.data();
  const void *biasData = bias ? bias->bytes.data() : nullptr;
  void *yData = y.data();
  std::vector<cuda::DeviceBuffer> device;
  auto toDevice = [&](const void *&data, size_t bytes) -> llvm::Error {
    auto copy = cuda::DeviceBuffer::copyOf(data, bytes);
    if (!copy)
      return copy.takeError();
    data = copy->data();
    device.push_back(std::move(*copy));
    return llvm::Error::success();
  };
  cuda::DeviceBuffer deviceY;
  if (onGPU) {
    llvm::Error error = toDevice(xData, x->bytes.size());
    if (!error)
      error = toDevice(tableData, tables->bytes.size());
    if (!error && bias)
      error = toDevice(biasData, bias->bytes.size());
    if (!error) {
      auto output = cuda::DeviceBuffer::allocate(y.size() * sizeof(float));
      if (output)
        deviceY = std::move(*output);
      else
        error = output.takeError();
    }
    if (error)
      return reportError("--target cuda: " + toString(std::move(error)));
    yData = deviceY.data();
  }
  auto prepared =
      (*kernel)->prepare(tableData, static_cast<const float *>(biasData));
  if (!prepared)
    return reportError(prepared.takeError());
  if (llvm::Error error =
          (*kernel)->run(*prepared, static_cast<const float *>(xData), n,
                         static_cast<float *>(yData)))
    return reportError(std::move(error));
  if (onGPU)
    if (llvm::Error error =
            deviceY.download(y.data(), y.size() * sizeof(float)))
      return reportError("--target cuda: " + toString(std::move(error)));
  if (llvm::Error error =
          writeNpy(opts.output, NpyType::F32, {n, width}, y.data()))
    return reportError(std::move(error));
  return 0;
}

//===----------------------------------------------------------------------===//
// bench layer
//===----------------------------------------------------------------------===//

int benchLayer(bench::LayerBenchOptions opts, const std::string &dtype,
               const std::string &weighting, bool json) {
  opts.tableType = dtype == "f16"    ? ElementType::F16
                   : dtype == "bf16" ? ElementType::BF16
                                     : ElementType::F32;
  opts.weighting = weighting == "prob" ? Weighting::Prob : Weighting::L1Prob;
  if (opts.threads <= 0)
    opts.threads = static_cast<int>(getHostInfo().cores);
  auto result = bench::runLayerBench(opts);
  if (!result)
    return reportError(result.takeError());
  llvm::outs() << (json ? result->toJSON(opts) + "\n" : result->toText(opts));
  return 0;
}

} // namespace

void addLayerCommands(CLI::App &app, CLI::App &benchCmd,
                      std::vector<Command> &commands) {
  // eval-layer
  auto evalOpts = std::make_shared<EvalLayerOptions>();
  EvalLayerOptions &eval = *evalOpts;
  CLI::App *evalCmd = app.add_subcommand(
      "eval-layer", "Run one Memory Layer on NumPy files: y = layer(x)");
  evalCmd->add_option("--input", eval.input, "input X [N, d], float32 .npy")
      ->required();
  evalCmd
      ->add_option("--tables", eval.tables,
                   "tables T [K, 2^tau, h], float32 or float16 .npy")
      ->required();
  evalCmd->add_option("--bias", eval.bias, "bias B [h], float32 .npy");
  evalCmd->add_option("--weighting", eval.weighting, "row weighting")
      ->check(CLI::IsMember({"prob", "l1_prob"}))
      ->default_str("l1_prob");
  CLI::Option *temperature =
      evalCmd->add_option("--temperature", eval.temperature,
                          "temperature of the prob weighting (default 1.0)");
  evalCmd
      ->add_option("-o,--output", eval.output,
                   "output Y [N, h], float32 "
                   ".npy")
      ->required();
  evalCmd->add_option("--threads", eval.threads, "threads (default: all cores)")
      ->check(CLI::Range(int64_t{1}, kMaxThreads));
  evalCmd
      ->add_option("--engine", eval.engine,
                   "jit: the compiled kernel; reference: lib/Reference, the "
                   "plain C++ oracle")
      ->check(CLI::IsMember({"jit", "reference"}))
      ->default_str("jit");
  evalCmd
      ->add_option("--target", eval.target,
                   "where the jit engine runs the layer: cpu, or cuda (an "
                   "NVIDIA GPU through the CUDA driver)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->default_str("cpu");

  commands.push_back({evalCmd, [evalOpts, temperature] {
                        evalOpts->temperatureGiven = temperature->count() > 0;
                        return evalLayer(*evalOpts);
                      }});

  // bench layer
  struct BenchLayerState {
    bench::LayerBenchOptions options;
    std::string dtype = "f32", weighting = "l1_prob";
    bool json = false;
  };
  auto state = std::make_shared<BenchLayerState>();
  bench::LayerBenchOptions &benchOpts = state->options;
  std::string &dtype = state->dtype;
  std::string &weighting = state->weighting;
  bool &json = state->json;
  CLI::App *layerCmd = benchCmd.add_subcommand(
      "layer", "A JIT-compiled Memory Layer against dense f32 BLAS layers "
               "(OpenBLAS, oneDNN) of the same N x d x h shape, in one run");
  layerCmd->add_option("--tokens", benchOpts.tokens, "tokens per call (N)")
      ->required();
  layerCmd->add_option("--hidden", benchOpts.hidden, "input width (d)")
      ->required();
  layerCmd
      ->add_option("--tables", benchOpts.tables,
                   "number of tables (K); tau = d / K")
      ->required();
  layerCmd->add_option("--out", benchOpts.out, "output width (h)")->required();
  layerCmd->add_option("--dtype", dtype, "table storage type")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->default_str("f32");
  layerCmd->add_option("--weighting", weighting, "row weighting")
      ->check(CLI::IsMember({"prob", "l1_prob"}))
      ->default_str("l1_prob");
  layerCmd
      ->add_option("--threads", benchOpts.threads,
                   "threads on both sides (default: all cores)")
      ->check(CLI::Range(int64_t{1}, kMaxThreads));
  layerCmd
      ->add_option("--rounds", benchOpts.rounds,
                   "interleaved rounds; figures are medians (default 7)")
      ->check(CLI::Range(1, 1000));
  layerCmd
      ->add_option("--round-seconds", benchOpts.roundSeconds,
                   "duration of one side's round (default 0.2)")
      ->check(CLI::Range(0.001, 60.0));
  layerCmd
      ->add_option("--copies", benchOpts.copies,
                   "layer copies cycled on each side (default: enough "
                   "to exceed twice the last-level cache)")
      ->check(CLI::Range(1, 1 << 20));
  layerCmd
      ->add_option("--token-tile", benchOpts.jit.tokenTile,
                   "force the token tile of the Memory Layer (cuda: "
                   "tokens per GPU thread, at most 64)")
      ->check(CLI::Range(1, 1 << 20));
  layerCmd
      ->add_option("--split-tables-below", benchOpts.jit.splitTablesBelow,
                   "cuda: below this many threads of the gather (token "
                   "tiles x column groups), split the tables across "
                   "threads (default 4096; 0: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  layerCmd
      ->add_option("--threads-per-block", benchOpts.jit.threadsPerBlock,
                   "cuda: threads of a block (default 128)")
      ->check(CLI::Range(1, 1024));
  layerCmd
      ->add_option("--column-tile", benchOpts.jit.columnTile,
                   "force the column tile of the Memory Layer (a divisor of "
                   "--out)")
      ->check(CLI::Range(1, 1 << 20));
  layerCmd
      ->add_option("--tables-per-pass", benchOpts.jit.tablesPerPass,
                   "force the tables per pass of the Memory Layer (at most "
                   "--tables)")
      ->check(CLI::Range(1, 1 << 20));
  layerCmd
      ->add_option("--prefetch", benchOpts.jit.prefetch,
                   "force the prefetch distance in passes (0: none)")
      ->check(CLI::Range(0, 64));
  layerCmd
      ->add_option("--parallel", benchOpts.jit.parallel,
                   "force the parallel loop")
      ->check(CLI::IsMember({"auto", "tokens", "columns"}));
  layerCmd
      ->add_option("--target", benchOpts.jit.target,
                   "cpu: against OpenBLAS and oneDNN; cuda: the GPU kernels "
                   "against cuBLAS (sgemm and f16 GemmEx) on the GPU")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->default_str("cpu");
  layerCmd->add_flag("--json", json, "print one JSON object");
  commands.push_back({layerCmd, [state] {
                        return benchLayer(state->options, state->dtype,
                                          state->weighting, state->json);
                      }});
}

} // namespace mnemoc
