//===- MemoryLayer.cpp - One Memory Layer, compiled for the host -*- C++
//-*-===//

#include "mnemo/JIT/MemoryLayer.h"

#include "mnemo/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace mnemo {

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Tables larger than this are refused before anything is allocated.
constexpr double kMaxTableBytes = 64.0 * 1024 * 1024 * 1024;

/// A float literal that parses back to exactly `value`.
std::string exactFloat(float value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9e", static_cast<double>(value));
  return text;
}
} // namespace

//===----------------------------------------------------------------------===//
// MemoryLayerConfig
//===----------------------------------------------------------------------===//

llvm::Error MemoryLayerConfig::validate() const {
  if (numTables < 1)
    return makeError("num_tables must be at least 1, got " +
                     llvm::Twine(numTables));
  if (bitsPerTable < 1 || bitsPerTable > kMaxBitsPerTable)
    return makeError("bits_per_table must be in [1, " +
                     llvm::Twine(kMaxBitsPerTable) + "], got " +
                     llvm::Twine(bitsPerTable));
  if (outputWidth < 1)
    return makeError("output width must be at least 1, got " +
                     llvm::Twine(outputWidth));
  if (tableType != ElementType::F32 && tableType != ElementType::F16 &&
      tableType != ElementType::BF16)
    return makeError(llvm::Twine("tables must be f32, f16 or bf16, got ") +
                     elementTypeName(tableType));
  double bytes = static_cast<double>(numTables) *
                 static_cast<double>(numBuckets()) *
                 static_cast<double>(outputWidth) *
                 static_cast<double>(elementBytes(tableType));
  if (bytes > kMaxTableBytes)
    return makeError(llvm::formatv("tables of {0} x {1} x {2} {3} take {4:F1} "
                                   "GiB, more than the 64 GiB limit",
                                   numTables, numBuckets(), outputWidth,
                                   elementTypeName(tableType),
                                   bytes / (1024.0 * 1024 * 1024))
                         .str());
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    return makeError("temperature must be a positive finite number, got " +
                     exactFloat(temperature));
  if (weighting == Weighting::L1Prob && temperature != 1.0f)
    return makeError("temperature applies to the prob weighting only; "
                     "l1_prob has none");
  if (norm != LayerNorm::None &&
      (!(normEpsilon > 0.0f) || !std::isfinite(normEpsilon)))
    return makeError("norm epsilon must be a positive finite number");
  if (numTokens < 0)
    return makeError("number of tokens must not be negative");
  return llvm::Error::success();
}

std::string MemoryLayerConfig::toMLIR() const {
  std::string elementName = std::string(elementTypeName(tableType));
  std::string rows = numTokens > 0 ? std::to_string(numTokens) : "?";
  std::string input = llvm::formatv("tensor<{0}x{1}xf32>", rows, inputWidth());
  std::string output = llvm::formatv("tensor<{0}x{1}xf32>", rows, outputWidth);
  std::string tables = llvm::formatv("tensor<{0}x{1}x{2}x{3}>", numTables,
                                     numBuckets(), outputWidth, elementName);
  std::string biasType = llvm::formatv("tensor<{0}xf32>", outputWidth);
  std::string normType = llvm::formatv("tensor<{0}xf32>", inputWidth());

  std::string args =
      "%x: " + input + ", %tables: " + tables + " {mnemo.weight}";
  std::string operandTypes = input;
  std::string normClause;
  if (hasBias)
    args += ", %bias: " + biasType + " {mnemo.weight}";
  if (norm != LayerNorm::None) {
    args += ", %norm_weight: " + normType + " {mnemo.weight}";
    operandTypes += ", " + normType;
    std::string params = "%norm_weight";
    if (norm == LayerNorm::LayerNorm) {
      args += ", %norm_bias: " + normType + " {mnemo.weight}";
      operandTypes += ", " + normType;
      params += ", %norm_bias";
    }
    normClause =
        llvm::formatv(" normalized by {0}({1}) eps {2}",
                      norm == LayerNorm::RMSNorm ? "rms_norm" : "layer_norm",
                      params, exactFloat(normEpsilon));
  }
  operandTypes += ", " + tables;
  std::string biasClause;
  if (hasBias) {
    operandTypes += ", " + biasType;
    biasClause = " bias %bias";
  }
  std::string weightingClause =
      weighting == Weighting::Prob ? "weighting<prob>" : "weighting<l1_prob>";
  if (weighting == Weighting::Prob && temperature != 1.0f)
    weightingClause += " temperature " + exactFloat(temperature);
  return llvm::formatv(
      "func.func @layer({0}) -> {1} {{\n"
      "  %y = mnemo.hash_lookup %x{2}, %tables{3} {4} : ({5}) -> {1}\n"
      "  return %y : {1}\n"
      "}\n",
      args, output, normClause, biasClause, weightingClause, operandTypes);
}

//===----------------------------------------------------------------------===//
// MemoryLayerKernel
//===----------------------------------------------------------------------===//

llvm::Expected<std::shared_ptr<MemoryLayerKernel>>
MemoryLayerKernel::compile(const MemoryLayerConfig &config,
                           const JITOptions &options) {
  if (llvm::Error error = config.validate())
    return std::move(error);
  if (llvm::Error error = options.validate())
    return std::move(error);
  // Forced tiles must fit this layer; the pass would otherwise choose its
  // own, and a user who asked for one would measure something else.
  if (options.columnTile > 0 && config.outputWidth % options.columnTile != 0)
    return makeError("column tile " + llvm::Twine(options.columnTile) +
                     " must divide the output width " +
                     llvm::Twine(config.outputWidth));
  if (options.tablesPerPass > config.numTables)
    return makeError("tables per pass " + llvm::Twine(options.tablesPerPass) +
                     " must not exceed the number of tables " +
                     llvm::Twine(config.numTables));
  if (options.target == "cuda" && config.norm != LayerNorm::None)
    return makeError("a norm folded into the layer is not generated for the "
                     "cuda target; run the norm as its own op");
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  std::string source = config.toMLIR();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  if (!module)
    return makeError("internal error: generated IR does not parse:\n" + source);
  auto compiled = compileModuleCached(*module, options);
  if (!compiled)
    return compiled.takeError();
  if (!(*compiled)->getSignature("layer"))
    return makeError("internal error: no @layer in the compiled module");
  return std::shared_ptr<MemoryLayerKernel>(
      new MemoryLayerKernel(config, std::move(*compiled)));
}

std::vector<Buffer>
MemoryLayerKernel::weightBuffers(const PreparedLayer &weights) const {
  std::vector<Buffer> buffers;
  buffers.push_back(
      {const_cast<void *>(weights.tables),
       {config.numTables, config.numBuckets(), config.outputWidth}});
  if (config.hasBias)
    buffers.push_back(
        {const_cast<float *>(weights.bias), {config.outputWidth}});
  if (config.norm != LayerNorm::None)
    buffers.push_back(
        {const_cast<float *>(weights.normWeight), {config.inputWidth()}});
  if (config.norm == LayerNorm::LayerNorm)
    buffers.push_back(
        {const_cast<float *>(weights.normBias), {config.inputWidth()}});
  return buffers;
}

llvm::Expected<PreparedLayer>
MemoryLayerKernel::prepare(const void *tables, const float *bias,
                           const float *normWeight,
                           const float *normBias) const {
  if (!tables || (config.hasBias && !bias) ||
      (config.norm != LayerNorm::None && !normWeight) ||
      (config.norm == LayerNorm::LayerNorm && !normBias))
    return makeError("missing weights for this layer configuration");
  PreparedLayer weights;
  weights.tables = tables;
  weights.bias = bias;
  weights.normWeight = normWeight;
  weights.normBias = normBias;
  auto prepared = module->prepareWeights("layer", weightBuffers(weights));
  if (!prepared)
    return prepared.takeError();
  weights.prepared = std::move(*prepared);
  return std::move(weights);
}

llvm::Error MemoryLayerKernel::run(const PreparedLayer &weights, const float *x,
                                   int64_t numTokens, float *y) const {
  if (config.numTokens > 0 && numTokens != config.numTokens)
    return makeError("this kernel was compiled for " +
                     llvm::Twine(config.numTokens) + " tokens, got " +
                     llvm::Twine(numTokens));
  std::vector<Buffer> args;
  args.push_back({const_cast<float *>(x), {numTokens, config.inputWidth()}});
  for (Buffer &buffer : weightBuffers(weights))
    args.push_back(std::move(buffer));
  args.push_back({y, {numTokens, config.outputWidth}});
  return module->callPrepared("layer", args, weights.prepared);
}

} // namespace mnemo
