//===- JIT.cpp - Compile mnemo IR for the host and call it ------*- C++ -*-===//
//
// The pipeline runs in two halves: to buffers (where the buffer signature of
// every function is read off), then to the LLVM dialect. The LLVM module is
// optimized at -O3 for the host CPU by mlir::ExecutionEngine.
//
//===----------------------------------------------------------------------===//

#include "mnemo/JIT/JIT.h"

#include "mnemo/JIT/GPUCode.h"
#include "mnemo/JIT/Host.h"
#include "mnemo/JIT/ObjectCode.h"
#include "mnemo/Pipelines.h"
#include "mnemo/Runtime/CUDA.h"
#include "mnemo/Support/Build.h"
#include "mnemo/Support/Environment.h"
#include "mnemo/Version.h"

#include "KernelCache.h"

#include "Mnemo/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"

#include <sys/mman.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>

using namespace mlir;

namespace mnemo {

namespace {

/// Sets the CPU pipeline options for `options` on this host.
void fillPipelineOptions(const JITOptions &options,
                         mlir::mnemo::CPUPipelineOptions &cpu) {
  const HostInfo &host = getHostInfo();
  cpu.threads = std::max<int64_t>(1, options.threads);
  cpu.vectorWidth =
      options.vectorWidth > 0 ? options.vectorWidth : host.vectorWidth;
  cpu.l1CacheBytes = host.l1CacheBytes;
  cpu.l2CacheBytes = host.l2CacheBytes;
  cpu.tokenTile = options.tokenTile;
  cpu.splitTablesBelow = options.splitTablesBelow;
  cpu.attentionScores = options.attentionScores;
  cpu.columnTile = options.columnTile;
  cpu.tablesPerPass = options.tablesPerPass;
  cpu.prefetch = options.prefetch;
  cpu.parallel = options.parallel;
  cpu.memsizerChunk = options.memsizerChunk;
  cpu.fuse = options.fuse;
  cpu.hoistWeights = options.hoistWeights;
  cpu.gpuKernels = options.gpuKernels;
}

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The CUDA pipeline options for `options`: the chip asked for, else the
/// GPU's, else sm_90. Kernels are embedded as PTX, which any driver since
/// CUDA 11.8 compiles for its GPU when loading (and caches).
void fillPipelineOptions(const JITOptions &options,
                         mlir::mnemo::GPUPipelineOptions &gpu) {
  std::string chip = options.chip;
  if (chip.empty()) {
    if (auto device = cuda::device())
      chip = device->chip();
    else
      llvm::consumeError(device.takeError());
  }
  gpu.chip = chip.empty() ? "sm_90" : chip;
  gpu.format = "isa";
  gpu.tokenTile = options.tokenTile;
  gpu.splitTablesBelow = options.splitTablesBelow;
  gpu.attentionScores = options.attentionScores;
  if (options.threadsPerBlock > 0)
    gpu.threadsPerBlock = options.threadsPerBlock;
}

/// Collects the diagnostics a pipeline emits, for an llvm::Error.
struct DiagnosticCollector {
  explicit DiagnosticCollector(MLIRContext *context)
      : handler(context, [this](Diagnostic &diag) {
          if (diag.getSeverity() == DiagnosticSeverity::Error) {
            llvm::raw_string_ostream os(messages);
            if (!messages.empty())
              os << "\n";
            os << diag.getLocation() << ": " << diag.str();
          }
          return success();
        }) {}
  std::string messages;
  ScopedDiagnosticHandler handler;
};

std::optional<ElementType> toElementType(Type type) {
  if (type.isF32())
    return ElementType::F32;
  if (type.isF16())
    return ElementType::F16;
  if (type.isBF16())
    return ElementType::BF16;
  if (type.isInteger(64))
    return ElementType::I64;
  if (type.isInteger(32))
    return ElementType::I32;
  if (type.isInteger(1))
    return ElementType::I1;
  return std::nullopt;
}

llvm::Expected<FunctionSignature> readSignature(func::FuncOp func,
                                                size_t numOutputs) {
  FunctionSignature signature;
  signature.name = func.getName().str();
  signature.numOutputs = numOutputs;
  if (auto prepare = func->getAttrOfType<FlatSymbolRefAttr>(
          mlir::mnemo::kPrepareWeightsAttrName))
    signature.prepareWeights = prepare.getValue().str();
  for (auto [index, type] : llvm::enumerate(func.getArgumentTypes())) {
    auto memref = dyn_cast<MemRefType>(type);
    if (!memref || !memref.getLayout().isIdentity())
      return makeError("@" + signature.name + ": argument " +
                       llvm::Twine(index) +
                       " is not a memref with an identity layout");
    std::optional<ElementType> element = toElementType(memref.getElementType());
    if (!element)
      return makeError("@" + signature.name + ": argument " +
                       llvm::Twine(index) + " has an unsupported element type");
    ArgType arg;
    arg.element = *element;
    for (int64_t dim : memref.getShape())
      arg.shape.push_back(ShapedType::isDynamic(dim) ? kDynamic : dim);
    arg.isWeight = static_cast<bool>(func.getArgAttr(index, "mnemo.weight"));
    signature.args.push_back(std::move(arg));
  }
  return signature;
}

/// Overrides the default of `JITOptions::compileThreads`.
constexpr const char *kCompileThreadsVariable = "MNEMO_COMPILE_THREADS";

std::optional<unsigned> compileThreadsFromEnvironment(llvm::StringRef value) {
  unsigned threads;
  if (value.getAsInteger(10, threads) || threads < 1 || threads > kMaxThreads)
    return std::nullopt;
  return threads;
}

} // namespace

llvm::Error JITOptions::validate() const {
  if (threads < 1 || threads > kMaxThreads)
    return makeError("threads must be between 1 and " +
                     llvm::Twine(kMaxThreads) + ", got " +
                     llvm::Twine(threads));
  if (vectorWidth != 0 && vectorWidth != 4 && vectorWidth != 8 &&
      vectorWidth != 16)
    return makeError("vector width must be 0 (host), 4, 8 or 16, got " +
                     llvm::Twine(vectorWidth));
  if (tokenTile < 0)
    return makeError("token tile must be non-negative (0: choose), got " +
                     llvm::Twine(tokenTile));
  if ((target == "cuda" || gpuKernels) && tokenTile > 64)
    return makeError("token tile of the GPU kernels must lie in [0, 64] (0: "
                     "choose), got " +
                     llvm::Twine(tokenTile));
  if (splitTablesBelow < -1)
    return makeError("split-tables-below must be -1 (default) or "
                     "non-negative, got " +
                     llvm::Twine(splitTablesBelow));
  if (attentionScores < -1)
    return makeError("attention scores must be -1 (default) or "
                     "non-negative, got " +
                     llvm::Twine(attentionScores));
  if (threadsPerBlock < 0 || threadsPerBlock > 1024)
    return makeError("threads per block must lie in [0, 1024] (0: default), "
                     "got " +
                     llvm::Twine(threadsPerBlock));
  if (columnTile < 0)
    return makeError("column tile must be non-negative (0: choose), got " +
                     llvm::Twine(columnTile));
  if (tablesPerPass < 0)
    return makeError("tables per pass must be non-negative (0: choose), got " +
                     llvm::Twine(tablesPerPass));
  if (prefetch < -1)
    return makeError("prefetch distance must be -1 (choose) or non-negative, "
                     "got " +
                     llvm::Twine(prefetch));
  if (memsizerChunk < 0)
    return makeError("Memsizer chunk must be non-negative (0: choose), got " +
                     llvm::Twine(memsizerChunk));
  if (parallel != "auto" && parallel != "tokens" && parallel != "columns")
    return makeError("parallel loop must be auto, tokens or columns, got '" +
                     parallel + "'");
  if (target != "cpu" && target != "cuda")
    return makeError("target must be cpu or cuda, got '" + target + "'");
  if (!chip.empty())
    if (llvm::Error error = checkChip(chip))
      return error;
  if (target == "cuda" && gpuKernels)
    return makeError("the GPU kernels' loops on the CPU are a CPU target");
  if (compileThreads < 0 || compileThreads > kMaxThreads)
    return makeError("compile threads must be between 0 (one per CPU) and " +
                     llvm::Twine(kMaxThreads) + ", got " +
                     llvm::Twine(compileThreads));
  if (compileThreads == 0)
    if (const char *value = std::getenv(kCompileThreadsVariable);
        value && !compileThreadsFromEnvironment(value))
      return makeError(llvm::Twine(kCompileThreadsVariable) +
                       " must be a whole number between 1 and " +
                       llvm::Twine(kMaxThreads) + ", got '" + value + "'");
  return llvm::Error::success();
}

unsigned JITOptions::compileThreadCount() const {
  if (compileThreads > 0)
    return static_cast<unsigned>(compileThreads);
  if (const char *value = std::getenv(kCompileThreadsVariable))
    if (std::optional<unsigned> threads = compileThreadsFromEnvironment(value))
      return *threads;
  // The CPUs of this process's affinity mask, not of the machine.
  return llvm::hardware_concurrency().compute_thread_count();
}

std::string JITOptions::pipelineOptions() const {
  if (target == "cuda") {
    mlir::mnemo::GPUPipelineOptions gpu;
    fillPipelineOptions(*this, gpu);
    std::string text = "cuda ";
    llvm::raw_string_ostream os(text);
    gpu.print(os);
    return text;
  }
  mlir::mnemo::CPUPipelineOptions cpu;
  fillPipelineOptions(*this, cpu);
  std::string text;
  llvm::raw_string_ostream os(text);
  cpu.print(os);
  return text;
}

llvm::Expected<AlignedBuffer> AlignedBuffer::allocate(size_t size) {
  // Large buffers (tables) are aligned to 2 MiB and backed by transparent
  // huge pages where the kernel allows it: kernels read rows at random
  // across megabytes of a table, which would miss the TLB with 4 KiB pages.
  constexpr size_t kHugePage = size_t{2} << 20;
  size_t alignment = size >= kHugePage ? kHugePage : 64;
  if (size > std::numeric_limits<size_t>::max() - alignment)
    return makeError("cannot allocate " + llvm::Twine(size) + " bytes");
  size_t rounded = (size + alignment - 1) / alignment * alignment;
  void *pointer =
      std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  if (!pointer)
    return makeError(llvm::formatv("cannot allocate {0:F1} MiB",
                                   static_cast<double>(size) / (1 << 20))
                         .str());
  if (alignment == kHugePage)
    madvise(pointer, rounded, MADV_HUGEPAGE);
  return AlignedBuffer(pointer, size);
}

AlignedBuffer::~AlignedBuffer() { std::free(pointer); }

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&other) noexcept {
  if (this != &other) {
    std::free(pointer);
    pointer = other.pointer;
    bytes = other.bytes;
    other.pointer = nullptr;
    other.bytes = 0;
  }
  return *this;
}

size_t PreparedWeights::bytes() const {
  size_t total = 0;
  for (const AlignedBuffer &buffer : buffers)
    total += buffer.size();
  return total;
}

CompiledModule::~CompiledModule() {
  if (kernelImage)
    cuda::forgetImage(kernelImage);
}

llvm::Expected<PreparedWeights>
CompiledModule::prepareWeights(llvm::StringRef name,
                               llvm::ArrayRef<Buffer> weights) const {
  PreparedWeights prepared;
  const FunctionSignature *signature = getSignature(name);
  if (!signature)
    return makeError("no compiled function @" + name);
  if (signature->prepareWeights.empty())
    return std::move(prepared);
  const FunctionSignature *prepare = getSignature(signature->prepareWeights);
  if (!prepare)
    return makeError("no compiled function @" + signature->prepareWeights);
  size_t numInputs = prepare->args.size() - prepare->numOutputs;
  if (weights.size() != numInputs)
    return makeError("@" + prepare->name + " takes " + llvm::Twine(numInputs) +
                     " weights, got " + llvm::Twine(weights.size()));
  std::vector<Buffer> args(weights.begin(), weights.end());
  for (size_t i = numInputs; i < prepare->args.size(); ++i) {
    const ArgType &type = prepare->args[i];
    int64_t count = 1;
    for (int64_t dim : type.shape) {
      if (dim == kDynamic)
        return makeError("@" + prepare->name +
                         " returns a dynamically shaped weight");
      count *= dim;
    }
    auto buffer = AlignedBuffer::allocate(static_cast<size_t>(count) *
                                          elementBytes(type.element));
    if (!buffer)
      return makeError("@" + prepare->name + ": " +
                       llvm::toString(buffer.takeError()));
    prepared.buffers.push_back(std::move(*buffer));
    prepared.shapes.push_back(type.shape);
    args.push_back({prepared.buffers.back().data(), type.shape});
  }
  if (llvm::Error error = call(prepare->name, args))
    return std::move(error);
  return std::move(prepared);
}

llvm::Error
CompiledModule::callPrepared(llvm::StringRef name,
                             llvm::ArrayRef<Buffer> argsAndOutputs,
                             const PreparedWeights &prepared) const {
  const FunctionSignature *signature = getSignature(name);
  if (!signature)
    return makeError("no compiled function @" + name);
  // Arguments: the original ones, then the prepared weights, then the
  // out-parameters.
  size_t numOriginal =
      signature->args.size() - signature->numOutputs - prepared.buffers.size();
  if (argsAndOutputs.size() != numOriginal + signature->numOutputs)
    return makeError("@" + name + " takes " +
                     llvm::Twine(numOriginal + signature->numOutputs) +
                     " buffers and outputs, got " +
                     llvm::Twine(argsAndOutputs.size()));
  std::vector<Buffer> args(argsAndOutputs.begin(),
                           argsAndOutputs.begin() + numOriginal);
  for (size_t i = 0; i < prepared.buffers.size(); ++i)
    args.push_back({prepared.buffers[i].data(), prepared.shapes[i]});
  args.insert(args.end(), argsAndOutputs.begin() + numOriginal,
              argsAndOutputs.end());
  return call(name, args);
}

const FunctionSignature *
CompiledModule::getSignature(llvm::StringRef name) const {
  auto it = signatures.find(name.str());
  return it == signatures.end() ? nullptr : &it->second;
}

llvm::Error CompiledModule::call(llvm::StringRef name,
                                 llvm::ArrayRef<Buffer> args) const {
  const FunctionSignature *signature = getSignature(name);
  auto entry = entryPoints.find(name.str());
  if (!signature || entry == entryPoints.end())
    return makeError("no compiled function @" + name);
  if (args.size() != signature->args.size())
    return makeError("@" + name + " takes " +
                     llvm::Twine(signature->args.size()) + " buffers, got " +
                     llvm::Twine(args.size()));
  // One StridedMemRefType-compatible descriptor per argument:
  // {allocated, aligned, offset, sizes[rank], strides[rank]}.
  std::vector<std::vector<int64_t>> descriptors(args.size());
  std::vector<void *> descriptorPointers(args.size());
  std::vector<void *> packed(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const ArgType &type = signature->args[i];
    const Buffer &buffer = args[i];
    if (buffer.shape.size() != type.shape.size())
      return makeError("@" + name + " argument " + llvm::Twine(i) +
                       ": expected rank " + llvm::Twine(type.shape.size()) +
                       ", got " + llvm::Twine(buffer.shape.size()));
    for (size_t d = 0; d < type.shape.size(); ++d)
      if (buffer.shape[d] < 0 ||
          (type.shape[d] != kDynamic && type.shape[d] != buffer.shape[d]))
        return makeError("@" + name + " argument " + llvm::Twine(i) +
                         ": dimension " + llvm::Twine(d) + " is " +
                         llvm::Twine(buffer.shape[d]) + ", expected " +
                         llvm::Twine(type.shape[d]));
    std::vector<int64_t> &desc = descriptors[i];
    size_t rank = type.shape.size();
    desc.resize(3 + 2 * rank);
    desc[0] = reinterpret_cast<int64_t>(buffer.data);
    desc[1] = reinterpret_cast<int64_t>(buffer.data);
    desc[2] = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      desc[3 + d] = buffer.shape[d];
      desc[3 + rank + d] = stride;
      stride *= buffer.shape[d];
    }
    descriptorPointers[i] = desc.data();
    packed[i] = &descriptorPointers[i];
  }
  entry->second(packed.data());
  // GPU code queues its kernels; they are done (or failed) after this.
  if (kernelImage)
    if (llvm::Error error = cuda::synchronize())
      return makeError("@" + name +
                       " on the GPU: " + llvm::toString(std::move(error)));
  return llvm::Error::success();
}

namespace {

/// Runs `pm` on `module`, then verifies the result once. The JIT does not
/// verify the IR after every pass (MNEMO_VERIFY_EACH=1 does): that walk,
/// repeated for some fifty passes, was a sixth of a Memory Layer's compile
/// time (about 25 of 150 ms). `mnemo-opt` runs the same pipelines and
/// verifies after each pass, as MLIR's tools do, so a pass that breaks the
/// IR shows there.
LogicalResult runPipeline(PassManager &pm, ModuleOp module) {
  static const bool verifyEach = isEnvironmentSwitchOn("MNEMO_VERIFY_EACH");
  pm.enableVerifier(verifyEach);
  if (failed(pm.run(module)))
    return failure();
  return verify(module);
}

} // namespace

llvm::Expected<std::map<std::string, FunctionSignature>>
lowerModule(ModuleOp module, const JITOptions &options, LowerStage stage) {
  if (llvm::Error error = options.validate())
    return std::move(error);
  MLIRContext *context = module.getContext();
  DiagnosticCollector diagnostics(context);

  // Every public function gets a C interface. Remember the result count of
  // each (its out-parameters after bufferization) and its weight count (the
  // inputs of the weight preparation split off from it).
  std::map<std::string, size_t> numOutputs, numWeights;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(context));
    numOutputs[func.getName().str()] = func.getNumResults();
    size_t weights = 0;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      weights += static_cast<bool>(func.getArgAttr(i, "mnemo.weight"));
    numWeights[func.getName().str()] = weights;
  }

  mlir::mnemo::CPUPipelineOptions cpu;
  fillPipelineOptions(options, cpu);
  mlir::mnemo::GPUPipelineOptions gpu;
  bool onGPU = options.target == "cuda";
  if (onGPU)
    fillPipelineOptions(options, gpu);
  PassManager toLoops(context);
  if (onGPU)
    mlir::mnemo::buildLowerToGPUPipeline(toLoops, gpu);
  else
    mlir::mnemo::buildLowerToLoopsPipeline(toLoops, cpu);
  if (failed(runPipeline(toLoops, module)))
    return makeError("lowering to loops failed:\n" + diagnostics.messages);

  // A preparation function takes its caller's original weights and returns
  // the prepared values through the remaining (out-)parameters.
  for (auto func : module.getOps<func::FuncOp>())
    if (func::FuncOp target = mlir::mnemo::lookupPrepareWeights(func))
      numOutputs[target.getName().str()] =
          target.getNumArguments() - numWeights[func.getName().str()];

  std::map<std::string, FunctionSignature> signatures;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    auto signature = readSignature(func, numOutputs[func.getName().str()]);
    if (!signature)
      return signature.takeError();
    signatures[signature->name] = std::move(*signature);
  }
  if (stage == LowerStage::Loops)
    return signatures;

  PassManager toLLVM(context);
  if (onGPU)
    mlir::mnemo::buildGPUToLLVMPipeline(toLLVM, gpu);
  else
    mlir::mnemo::buildLoopsToLLVMPipeline(toLLVM, cpu);
  if (failed(runPipeline(toLLVM, module)))
    return makeError("lowering to LLVM failed:\n" + diagnostics.messages);
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);
  registerOpenMPDialectTranslation(*context);
  return signatures;
}

std::string writeSignatureManifest(
    const std::map<std::string, FunctionSignature> &signatures) {
  return writeManifest(signatures);
}

CompiledModule::CompiledModule() = default;

llvm::Expected<std::shared_ptr<const CompiledModule>>
CompiledModule::fromEntryPoints(
    llvm::StringRef manifest,
    const std::map<std::string, void (*)(void **)> &entries) {
  auto signatures = readManifest(manifest);
  if (!signatures)
    return signatures.takeError();
  auto compiled = std::shared_ptr<CompiledModule>(new CompiledModule());
  for (const auto &[name, signature] : *signatures) {
    auto entry = entries.find(name);
    if (entry == entries.end() || !entry->second)
      return makeError("the kernels have no entry point for @" + name);
    compiled->entryPoints[name] = entry->second;
  }
  compiled->signatures = std::move(*signatures);
  return std::shared_ptr<const CompiledModule>(std::move(compiled));
}

namespace {

/// Links `objects` and looks up the entry point of every function.
llvm::Error
linkObject(std::unique_ptr<LoadedObject> &code,
           std::map<std::string, void (*)(void **)> &entryPoints,
           const void *&kernelImage,
           const std::map<std::string, FunctionSignature> &signatures,
           std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects) {
  auto loaded = LoadedObject::load(std::move(objects));
  if (!loaded)
    return loaded.takeError();
  for (const auto &[name, signature] : signatures) {
    auto entry = (*loaded)->lookupPacked(name);
    if (!entry)
      return entry.takeError();
    entryPoints[name] = *entry;
  }
  kernelImage = (*loaded)->lookupData(kKernelImageSymbol);
  code = std::move(*loaded);
  return llvm::Error::success();
}

/// Everything the compiled code of `module` depends on.
std::string cacheKey(ModuleOp module, const JITOptions &options) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "mnemo " << MNEMO_VERSION_STRING << ", LLVM " << LLVM_VERSION_STRING
     << "\nbuild " << buildIdentity() << "\nhost " << hostTargetDescription()
     << "\noptions " << options.pipelineOptions() << "\n";
  module.print(os);
  return key;
}

} // namespace

llvm::Expected<std::shared_ptr<const CompiledModule>>
compileModule(ModuleOp module, const JITOptions &options) {
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = options.validate())
    return std::move(error);
  auto compiled = std::shared_ptr<CompiledModule>(new CompiledModule());
  auto finish = [&]() {
    compiled->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return std::shared_ptr<const CompiledModule>(std::move(compiled));
  };

  std::string key, entryPath;
  if (!options.cacheDirectory.empty()) {
    key = cacheKey(module, options);
    entryPath = cacheEntryPath(options.cacheDirectory, key);
    if (std::optional<CacheEntry> entry = readCacheEntry(entryPath, key)) {
      auto signatures = readManifest(entry->manifest);
      llvm::Error error =
          signatures ? linkObject(compiled->code, compiled->entryPoints,
                                  compiled->kernelImage, *signatures,
                                  std::move(entry->objects))
                     : signatures.takeError();
      if (!error) {
        compiled->signatures = std::move(*signatures);
        compiled->fromCache = true;
        return finish();
      }
      // A damaged entry: compile again and replace it.
      llvm::consumeError(std::move(error));
      compiled = std::shared_ptr<CompiledModule>(new CompiledModule());
    }
  }

  auto signatures = lowerModule(module, options);
  if (!signatures)
    return signatures.takeError();
  // The host code of the CUDA target is small (the kernels are PTX): one
  // object.
  auto objects = compileToObjects(
      module, options.target == "cuda" ? 1 : options.compileThreadCount());
  if (!objects)
    return objects.takeError();
  if (!entryPath.empty())
    // The cache is an optimization: a directory that cannot be written only
    // costs the next process a compile.
    llvm::consumeError(
        writeCacheEntry(entryPath, key, writeManifest(*signatures), *objects));
  if (llvm::Error error =
          linkObject(compiled->code, compiled->entryPoints,
                     compiled->kernelImage, *signatures, std::move(*objects)))
    return std::move(error);
  compiled->signatures = std::move(*signatures);
  return finish();
}

llvm::Expected<std::shared_ptr<const CompiledModule>>
compileModuleCached(ModuleOp module, const JITOptions &options) {
  // Deliberately never destroyed: engines must not be torn down by exit-time
  // destructors, after LLVM's own globals are gone.
  static std::mutex &mutex = *new std::mutex;
  static auto &cache =
      *new std::map<std::string, std::shared_ptr<const CompiledModule>>;
  std::string key;
  {
    llvm::raw_string_ostream os(key);
    module.print(os);
    os << "\n// " << options.pipelineOptions();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second;
  }
  auto compiled = compileModule(module, options);
  if (!compiled)
    return compiled.takeError();
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(key, *compiled).first->second;
}

} // namespace mnemo
