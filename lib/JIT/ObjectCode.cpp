//===- ObjectCode.cpp - Object files from mnemo IR, and loading them ------===//

#include "mnemo/JIT/ObjectCode.h"

#include "mnemo/Runtime/CUDA.h"
#include "mnemo/Runtime/Symbols.h"
#include "mnemo/Support/Environment.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/ExecutionEngine/JITEventListener.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

namespace mnemo {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

void initializeLLVMOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostTargetMachine() {
  initializeLLVMOnce();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  // Position-independent code links both into the JIT and into shared
  // libraries of ahead-of-time kernels.
  builder->setRelocationModel(llvm::Reloc::PIC_);
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return builder->createTargetMachine();
}

/// For every external C-interface function `_mlir_ciface_f`, defines
/// `void _mlir__mlir_ciface_f(void **args)`: args[i] points to argument i
/// (what mlir::ExecutionEngine's packed calls do).
void addPackedEntryPoints(llvm::Module &module,
                          std::vector<std::string> *names) {
  llvm::LLVMContext &context = module.getContext();
  llvm::IRBuilder<> builder(context);
  std::vector<llvm::Function *> functions;
  for (llvm::Function &function : module.functions())
    if (!function.isDeclaration() && !function.hasLocalLinkage() &&
        function.getName().starts_with("_mlir_ciface_"))
      functions.push_back(&function);
  for (llvm::Function *function : functions) {
    auto *type =
        llvm::FunctionType::get(builder.getVoidTy(), builder.getPtrTy(), false);
    auto *wrapper =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               "_mlir_" + function->getName(), module);
    builder.SetInsertPoint(llvm::BasicBlock::Create(context, "", wrapper));
    llvm::Value *list = wrapper->getArg(0);
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &arg : function->args()) {
      llvm::Value *slot = builder.CreateGEP(builder.getPtrTy(), list,
                                            builder.getInt64(arg.getArgNo()));
      llvm::Value *pointer = builder.CreateLoad(builder.getPtrTy(), slot);
      args.push_back(builder.CreateLoad(arg.getType(), pointer));
    }
    llvm::Value *result = builder.CreateCall(function, args);
    if (!result->getType()->isVoidTy()) {
      llvm::Value *slot = builder.CreateGEP(
          builder.getPtrTy(), list, builder.getInt64(function->arg_size()));
      builder.CreateStore(result, builder.CreateLoad(builder.getPtrTy(), slot));
    }
    builder.CreateRetVoid();
    if (names)
      names->push_back(function->getName().drop_front(13).str());
  }
}

/// Defines `table.symbol()`, returning a `mnemo_kernels` struct:
/// {u32 abi_version, ptr manifest, u64 count, ptr names, ptr entries}.
void addKernelTable(llvm::Module &module, const KernelTable &table) {
  llvm::LLVMContext &context = module.getContext();
  llvm::IRBuilder<> builder(context);
  auto *ptr = builder.getPtrTy();
  auto stringGlobal = [&](llvm::StringRef text, const llvm::Twine &name) {
    llvm::Constant *init = llvm::ConstantDataArray::getString(context, text);
    return new llvm::GlobalVariable(
        module, init->getType(), /*isConstant=*/true,
        llvm::GlobalValue::PrivateLinkage, init, name);
  };
  llvm::SmallVector<llvm::Constant *> names, entries;
  for (const std::string &entry : table.entries) {
    names.push_back(stringGlobal(entry, "mnemo.name." + entry));
    llvm::Function *function = module.getFunction(packedEntryName(entry));
    entries.push_back(function ? static_cast<llvm::Constant *>(function)
                               : llvm::ConstantPointerNull::get(ptr));
  }
  auto *arrayType = llvm::ArrayType::get(ptr, names.size());
  auto *namesGlobal = new llvm::GlobalVariable(
      module, arrayType, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(arrayType, names), "mnemo.names");
  auto *entriesGlobal = new llvm::GlobalVariable(
      module, arrayType, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(arrayType, entries), "mnemo.entries");
  auto *structType = llvm::StructType::get(
      context, {builder.getInt32Ty(), ptr, builder.getInt64Ty(), ptr, ptr});
  auto *tableGlobal = new llvm::GlobalVariable(
      module, structType, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantStruct::get(
          structType,
          {builder.getInt32(1), stringGlobal(table.manifest, "mnemo.manifest"),
           builder.getInt64(names.size()), namesGlobal, entriesGlobal}),
      "mnemo.table");
  auto *getter = llvm::Function::Create(llvm::FunctionType::get(ptr, false),
                                        llvm::GlobalValue::ExternalLinkage,
                                        table.symbol, module);
  builder.SetInsertPoint(llvm::BasicBlock::Create(context, "", getter));
  builder.CreateRet(tableGlobal);
}

} // namespace

std::string packedEntryName(llvm::StringRef name) {
  return ("_mlir__mlir_ciface_" + name).str();
}

std::string hostTargetDescription() {
  std::string text = llvm::sys::getHostCPUName().str();
  std::vector<std::string> features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    if (feature.second)
      features.push_back("+" + feature.first().str());
  llvm::sort(features);
  return text + " " + llvm::join(features, ",");
}

namespace {

/// The LLVM IR of an LLVM-dialect module, for `machine`, not yet optimized.
llvm::Expected<std::unique_ptr<llvm::Module>>
toLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
         llvm::TargetMachine &machine) {
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return makeError("internal error: the module does not translate to LLVM "
                     "IR");
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple().getTriple());
  // Embedded GPU kernels stay visible to the loader, which tells the CUDA
  // runtime when their image goes away (LoadedObject::lookupData).
  if (llvm::GlobalVariable *image =
          llvmModule->getGlobalVariable(kKernelImageSymbol, true))
    image->setLinkage(llvm::GlobalValue::ExternalLinkage);
  return std::move(llvmModule);
}

/// Optimizes `module` at -O2 and adds the packed entry points of the
/// C-interface functions it defines.
llvm::Error optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  // The generated loops are already tiled, vectorized and unrolled: -O3's
  // extra loop passes found nothing to improve in them (same kernel speed,
  // measured) and cost up to a third of the compile time.
  auto transform = mlir::makeOptimizingTransformer(/*optLevel=*/2,
                                                   /*sizeLevel=*/0, &machine);
  if (llvm::Error error = transform(&module))
    return error;
  addPackedEntryPoints(module, nullptr);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
emitObject(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, os, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return makeError("internal error: the host target cannot emit objects");
  passes.run(module);
  return std::make_unique<llvm::SmallVectorMemoryBuffer>(
      std::move(bytes), "mnemo-kernels.o", /*RequiresNullTerminator=*/false);
}

/// Whether `partition` can split `module`: at least two function
/// definitions, and nothing but functions and variables (no aliases,
/// ifuncs, comdats, appending globals such as constructor lists, or
/// module-level assembly).
bool isPartitionable(const llvm::Module &module) {
  if (!module.alias_empty() || !module.ifunc_empty() ||
      !module.getModuleInlineAsm().empty() ||
      !module.getComdatSymbolTable().empty())
    return false;
  if (llvm::any_of(module.globals(), [](const llvm::GlobalVariable &var) {
        return var.hasAppendingLinkage();
      }))
    return false;
  return llvm::count_if(module, [](const llvm::Function &function) {
           return !function.isDeclaration();
         }) >= 2;
}

/// Splits `module` into up to `parts` modules that link back together, each
/// compiled on its own thread: the function definitions are spread by size
/// (instruction count), the largest first onto the least loaded part, and
/// each part declares what the others define. Local functions and variables
/// become hidden globals so that the parts can refer to each other's; local
/// constants (OpenMP's source locations) are copied into every part instead,
/// where -O2 drops unused copies. Each part is returned as bitcode, to be
/// read into a context of its own (an LLVMContext is not shared between
/// threads).
std::vector<llvm::SmallVector<char, 0>> partition(llvm::Module &module,
                                                  unsigned parts) {
  // (size, position in the module, function), largest first.
  std::vector<std::tuple<unsigned, size_t, llvm::Function *>> bySize;
  for (llvm::Function &function : module)
    if (!function.isDeclaration())
      bySize.emplace_back(function.getInstructionCount(), bySize.size(),
                          &function);
  llvm::sort(bySize, [](const auto &a, const auto &b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) > std::get<0>(b)
                                            : std::get<1>(a) < std::get<1>(b);
  });
  parts = std::min<unsigned>(parts, bySize.size());
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> owner;
  std::vector<uint64_t> load(parts, 0);
  for (const auto &[size, position, function] : bySize) {
    unsigned part = std::min_element(load.begin(), load.end()) - load.begin();
    owner[function] = part;
    load[part] += size;
    if (function->hasLocalLinkage()) {
      function->setLinkage(llvm::GlobalValue::ExternalLinkage);
      function->setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  }
  for (llvm::GlobalVariable &var : module.globals())
    if (var.hasLocalLinkage() && !var.isConstant()) {
      var.setLinkage(llvm::GlobalValue::ExternalLinkage);
      var.setVisibility(llvm::GlobalValue::HiddenVisibility);
      if (!var.hasName())
        var.setName("mnemo.part.var");
    }

  std::vector<llvm::SmallVector<char, 0>> bitcode(parts);
  for (unsigned part = 0; part < parts; ++part) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> piece =
        llvm::CloneModule(module, map, [&](const llvm::GlobalValue *value) {
          if (value->hasLocalLinkage())
            return true; // a constant, copied
          auto it = owner.find(value);
          return it == owner.end() ? part == 0 : it->second == part;
        });
    llvm::raw_svector_ostream os(bitcode[part]);
    llvm::WriteBitcodeToFile(*piece, os);
  }
  return bitcode;
}

/// Optimizes `module` and compiles it to an object file.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
optimizeAndEmit(llvm::Module &module, llvm::TargetMachine &machine) {
  if (llvm::Error error = optimize(module, machine))
    return std::move(error);
  return emitObject(module, machine);
}

/// Reads a part written by `partition` into a context of its own, optimizes
/// it and compiles it to an object file.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
compilePart(llvm::ArrayRef<char> bitcode) {
  auto machine = hostTargetMachine();
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  auto module = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(bitcode.data(), bitcode.size()),
                            "mnemo-part"),
      context);
  if (!module)
    return module.takeError();
  return optimizeAndEmit(**module, **machine);
}

/// `module` translated and optimized for `machine`, with `table` if given.
llvm::Expected<std::unique_ptr<llvm::Module>>
optimizedModule(mlir::ModuleOp module, llvm::LLVMContext &context,
                llvm::TargetMachine &machine, const KernelTable *table) {
  auto llvmModule = toLLVMIR(module, context, machine);
  if (!llvmModule)
    return llvmModule.takeError();
  if (llvm::Error error = optimize(**llvmModule, machine))
    return std::move(error);
  if (table)
    addKernelTable(**llvmModule, *table);
  return llvmModule;
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(mlir::ModuleOp module, llvm::LLVMContext &context,
                 const KernelTable *table) {
  auto machine = hostTargetMachine();
  if (!machine)
    return machine.takeError();
  return optimizedModule(module, context, **machine, table);
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
compileToObject(mlir::ModuleOp module, const KernelTable *table) {
  auto machine = hostTargetMachine();
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  auto llvmModule = optimizedModule(module, context, **machine, table);
  if (!llvmModule)
    return llvmModule.takeError();
  return emitObject(**llvmModule, **machine);
}

llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
compileToObjects(mlir::ModuleOp module, unsigned threads) {
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  std::vector<llvm::SmallVector<char, 0>> parts;
  {
    auto machine = hostTargetMachine();
    if (!machine)
      return machine.takeError();
    llvm::LLVMContext context;
    auto llvmModule = toLLVMIR(module, context, **machine);
    if (!llvmModule)
      return llvmModule.takeError();
    if (threads <= 1 || !isPartitionable(**llvmModule)) {
      auto object = optimizeAndEmit(**llvmModule, **machine);
      if (!object)
        return object.takeError();
      objects.push_back(std::move(*object));
      return std::move(objects);
    }
    parts = partition(**llvmModule, threads);
  }
  // The first part on this thread, the others on threads of their own.
  std::vector<
      std::optional<llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>>>
      results(parts.size());
  std::vector<std::thread> workers;
  for (size_t i = 1; i < parts.size(); ++i)
    workers.emplace_back([&, i] { results[i].emplace(compilePart(parts[i])); });
  results[0].emplace(compilePart(parts[0]));
  for (std::thread &worker : workers)
    worker.join();
  llvm::Error errors = llvm::Error::success();
  for (auto &result : results) {
    if (*result)
      objects.push_back(std::move(**result));
    else
      errors = llvm::joinErrors(std::move(errors), result->takeError());
  }
  if (errors)
    return std::move(errors);
  return std::move(objects);
}

LoadedObject::~LoadedObject() {
  if (jit)
    llvm::consumeError(jit->deinitialize(jit->getMainJITDylib()));
}

llvm::Expected<std::unique_ptr<LoadedObject>>
LoadedObject::load(std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects) {
  initializeLLVMOnce();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  auto jit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*builder))
          .setObjectLinkingLayerCreator([](llvm::orc::ExecutionSession &session,
                                           const llvm::Triple &) {
            auto layer = std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
                session, []() {
                  return std::make_unique<llvm::SectionMemoryManager>();
                });
            // MNEMO_PERF=1: kernels named in `perf record -k 1` profiles
            // (after `perf inject --jit`), see docs/benchmarks.md.
            if (isEnvironmentSwitchOn("MNEMO_PERF"))
              if (llvm::JITEventListener *listener =
                      llvm::JITEventListener::createPerfJITEventListener())
                layer->registerJITEventListener(*listener);
            return layer;
          })
          .create();
  if (!jit)
    return jit.takeError();
  llvm::orc::JITDylib &main = (*jit)->getMainJITDylib();
  // Mnemo's runtime first, then whatever the process has loaded (OpenMP,
  // libm, libc).
  llvm::orc::MangleAndInterner mangle((*jit)->getExecutionSession(),
                                      (*jit)->getDataLayout());
  llvm::orc::SymbolMap symbols;
  for (const RuntimeSymbol &symbol : runtimeSymbols())
    symbols[mangle(symbol.name)] = {
        llvm::orc::ExecutorAddr::fromPtr(symbol.address),
        llvm::JITSymbolFlags::Exported};
  for (const cuda::EntryPoint &entry : cuda::entryPoints())
    symbols[mangle(entry.name)] = {
        llvm::orc::ExecutorAddr::fromPtr(entry.address),
        llvm::JITSymbolFlags::Exported};
  if (llvm::Error error = main.define(llvm::orc::absoluteSymbols(symbols)))
    return std::move(error);
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  main.addGenerator(std::move(*process));
  for (auto &object : objects)
    if (llvm::Error error = (*jit)->addObjectFile(std::move(object)))
      return std::move(error);
  if (llvm::Error error = (*jit)->initialize(main))
    return std::move(error);
  auto loaded = std::unique_ptr<LoadedObject>(new LoadedObject());
  loaded->jit = std::move(*jit);
  return std::move(loaded);
}

void *LoadedObject::lookupData(llvm::StringRef name) const {
  auto symbol = jit->lookup(name);
  if (!symbol) {
    llvm::consumeError(symbol.takeError());
    return nullptr;
  }
  return symbol->toPtr<void *>();
}

llvm::Expected<void (*)(void **)>
LoadedObject::lookupPacked(llvm::StringRef name) const {
  auto symbol = jit->lookup(packedEntryName(name));
  if (!symbol) {
    // Errors may refer to strings owned by the JIT: copy the message.
    std::string message = llvm::toString(symbol.takeError());
    return makeError(message);
  }
  return symbol->toPtr<void (*)(void **)>();
}

} // namespace mnemo
