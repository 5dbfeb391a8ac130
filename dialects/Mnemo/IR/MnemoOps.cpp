//===- MnemoOps.cpp - mnemo operations --------------------------*- C++ -*-===//
//
// Verifiers and canonicalization patterns of the mnemo operations. Verifier
// messages name the offending numbers so that a user can fix a model without
// reading the op definitions; each one has a test in
// test/Dialect/Mnemo/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::mnemo;

#define GET_OP_CLASSES
#include "Mnemo/IR/MnemoOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
/// Formats a dimension size, `?` when dynamic.
std::string dimStr(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

/// Formats a shape as `[8, ?, 32]`.
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string result = "[";
  llvm::interleave(
      shape, [&](int64_t dim) { result += dimStr(dim); },
      [&] { result += ", "; });
  return result + "]";
}
std::string shapeStr(Value v) {
  return shapeStr(cast<ShapedType>(v.getType()).getShape());
}

/// Formats a float attribute value in its shortest exact form (`0.5`, `-10`).
std::string floatStr(const APFloat &value) {
  SmallString<16> str;
  value.toString(str);
  return std::string(str);
}

int64_t dimOf(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

/// Checks that `value` has exactly `expected` as shape; dynamic dimensions
/// must correspond to dynamic dimensions.
LogicalResult verifyShape(Operation *op, Value value, StringRef what,
                          ArrayRef<int64_t> expected) {
  if (cast<ShapedType>(value.getType()).getShape() == expected)
    return success();
  return op->emitOpError() << what << " must have shape " << shapeStr(expected)
                           << ", got " << shapeStr(value);
}

/// Checks that a width that kernels specialize on is static.
LogicalResult verifyStaticDim(Operation *op, Value value, unsigned dim,
                              StringRef what) {
  if (!ShapedType::isDynamic(dimOf(value, dim)))
    return success();
  return op->emitOpError() << what << " must be static, got "
                           << shapeStr(value);
}

/// Checks that token-count dimensions agree: equal when both are static.
/// Dynamic sizes are checked by the runtime.
bool compatibleRows(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

LogicalResult verifyPositive(Operation *op, StringRef what, APFloat value) {
  if (value.isFiniteNonZero() && !value.isNegative())
    return success();
  return op->emitOpError() << what << " must be a positive finite number, got "
                           << floatStr(value);
}
} // namespace

//===----------------------------------------------------------------------===//
// HashLookupOp
//===----------------------------------------------------------------------===//

void HashLookupOp::build(OpBuilder &builder, OperationState &state,
                         Type resultType, Value input, Value tables, Value bias,
                         Weighting weighting, float temperature) {
  build(builder, state, resultType, input, /*norm_weight=*/Value(),
        /*norm_bias=*/Value(), tables, bias,
        WeightingAttr::get(builder.getContext(), weighting),
        builder.getF32FloatAttr(temperature), /*norm=*/nullptr,
        /*norm_epsilon=*/nullptr, /*tiling=*/nullptr);
}

int64_t HashLookupOp::getBitsPerTable() {
  return llvm::Log2_64(static_cast<uint64_t>(getNumBuckets()));
}

int64_t HashLookupOp::getOutputWidth() {
  auto type = getTables().getType();
  if (!isPacked())
    return type.getDimSize(2);
  if (ShapedType::isDynamic(type.getDimSize(0)) ||
      ShapedType::isDynamic(type.getDimSize(3)))
    return ShapedType::kDynamic;
  return type.getDimSize(0) * type.getDimSize(3);
}

LogicalResult HashLookupOp::verify() {
  auto tablesType = getTables().getType();
  if (!tablesType.hasStaticShape())
    return emitOpError() << "tables must have a static shape "
                         << (isPacked() ? "[h / C, K, 2^tau, C]"
                                        : "[K, 2^tau, h]")
                         << ", got " << shapeStr(getTables());
  int64_t numTables = getNumTables();
  int64_t rows = getNumBuckets();
  int64_t width = getOutputWidth();
  if (numTables < 1 || width < 1)
    return emitOpError() << "tables must hold at least one table and one "
                            "output column, got "
                         << (isPacked() ? "[h / C, K, 2^tau, C] = "
                                        : "[K, 2^tau, h] = ")
                         << shapeStr(getTables());
  if (!llvm::isPowerOf2_64(static_cast<uint64_t>(rows)))
    return emitOpError() << "tables must have 2^tau rows per table, got "
                         << rows << " rows, which is not a power of two";
  int64_t tau = getBitsPerTable();
  if (tau < 1 || tau > 16)
    return emitOpError() << "bits per table must be in [1, 16], got tau = "
                         << tau << " (" << rows
                         << (rows == 1 ? " row" : " rows") << " per table)";
  if (failed(verifyStaticDim(*this, getInput(), 1, "input width")))
    return failure();
  std::optional<int64_t> expectedWidth = llvm::checkedMul(numTables, tau);
  if (getInputWidth() != expectedWidth) {
    auto diag = emitOpError()
                << "input width " << getInputWidth()
                << " must equal num_tables * bits_per_table = " << numTables
                << " * " << tau;
    if (expectedWidth)
      diag << " = " << *expectedWidth;
    else
      diag << ", which overflows a 64-bit size";
    return diag;
  }
  if (getBias() && dimOf(getBias(), 0) != width)
    return emitOpError() << "bias width " << dimStr(dimOf(getBias(), 0))
                         << " must equal the table row width h = " << width;
  if (failed(verifyShape(*this, getResult(), "result",
                         {dimOf(getInput(), 0), width})))
    return failure();
  if (failed(verifyPositive(*this, "temperature", getTemperature())))
    return failure();
  if (getWeighting() == Weighting::l1_prob &&
      !getTemperature().isExactlyValue(1.0))
    return emitOpError() << "temperature " << floatStr(getTemperature())
                         << " has no effect with weighting<l1_prob>, which "
                            "has no temperature; use weighting<prob>";

  // The normalization folded into the input.
  std::optional<NormKind> norm = getNorm();
  if (norm.has_value() != static_cast<bool>(getNormWeight()) ||
      norm.has_value() != getNormEpsilon().has_value())
    return emitOpError() << "a normalized input needs a norm kind, a norm "
                            "weight and an epsilon together";
  if (norm) {
    bool isLayerNorm = *norm == NormKind::layer_norm;
    if (isLayerNorm != static_cast<bool>(getNormBias()))
      return emitOpError() << stringifyNormKind(*norm)
                           << (isLayerNorm ? " needs a bias"
                                           : " takes no bias");
    SmallVector<Value, 2> params = {getNormWeight()};
    if (getNormBias())
      params.push_back(getNormBias());
    for (Value param : params)
      if (dimOf(param, 0) != getInputWidth())
        return emitOpError()
               << "norm " << (param == getNormWeight() ? "weight" : "bias")
               << " width " << dimStr(dimOf(param, 0))
               << " must equal the input width " << getInputWidth();
    if (failed(verifyPositive(*this, "norm epsilon", *getNormEpsilon())))
      return failure();
  } else if (getNormBias()) {
    return emitOpError() << "a norm bias needs a normalized input";
  }

  // The tiling chosen for this op.
  if (LookupTilingAttr tiling = getTilingAttr()) {
    if (width % tiling.getColumns() != 0)
      return emitOpError() << "tiling columns " << tiling.getColumns()
                           << " must divide the output width h = " << width;
    if (isPacked() && tiling.getColumns() != getPackedColumns())
      return emitOpError() << "tiling columns " << tiling.getColumns()
                           << " must equal the packed column tile "
                           << getPackedColumns();
  }
  return success();
}

LogicalResult
LookupTilingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t tokens, int64_t columns, int64_t tables,
                         int64_t prefetch, LookupParallel parallel) {
  if (tokens < 0)
    return emitError() << "tokens per tile must be non-negative (0: all), got "
                       << tokens;
  if (columns < 1)
    return emitError() << "columns per tile must be positive, got " << columns;
  if (tables < 1)
    return emitError() << "tables per pass must be positive, got " << tables;
  if (prefetch < 0)
    return emitError() << "prefetch distance must be non-negative, got "
                       << prefetch;
  return success();
}

namespace {
/// Removes a bias that is a constant of zeros: `y + 0 == y`.
struct DropZeroBias : OpRewritePattern<HashLookupOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(HashLookupOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getBias())
      return rewriter.notifyMatchFailure(op, "no bias");
    if (!matchPattern(op.getBias(), m_AnyZeroFloat()))
      return rewriter.notifyMatchFailure(op, "bias is not a zero constant");
    rewriter.modifyOpInPlace(op, [&] { op.getBiasMutable().clear(); });
    return success();
  }
};
} // namespace

void HashLookupOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<DropZeroBias>(context);
}

//===----------------------------------------------------------------------===//
// Memsizer ops
//===----------------------------------------------------------------------===//

LogicalResult MemsizerAlphaOp::verify() {
  int64_t heads = getNumHeads();
  if (heads < 1)
    return emitOpError() << "num_heads must be positive, got " << heads;
  if (failed(verifyStaticDim(*this, getLogits(), 1, "logits width")))
    return failure();
  int64_t width = dimOf(getLogits(), 1);
  if (width % heads != 0)
    return emitOpError() << "logits width " << width
                         << " must be a multiple of num_heads = " << heads
                         << " (one block of k memory slots per head)";
  return verifyShape(*this, getAlpha(), "alpha",
                     {dimOf(getLogits(), 0), width / heads});
}

namespace {
/// Shared checks of the causal Memsizer ops: `alpha` and `key` address the
/// `k` memory slots, `value` and `output` have the memory width `d`, and all
/// have one row per token (or per sequence for the batched step).
LogicalResult verifyMemsizerRows(Operation *op, Value alpha, Value key,
                                 Value value, Value output, int64_t slots,
                                 int64_t width, StringRef keyName,
                                 StringRef valueName) {
  if (dimOf(alpha, 1) != slots)
    return op->emitOpError()
           << "alpha width " << dimStr(dimOf(alpha, 1))
           << " must equal the number of memory slots k = " << slots;
  if (dimOf(key, 1) != slots)
    return op->emitOpError()
           << keyName << " width " << dimStr(dimOf(key, 1))
           << " must equal the number of memory slots k = " << slots;
  if (dimOf(value, 1) != width)
    return op->emitOpError()
           << valueName << " width " << dimStr(dimOf(value, 1))
           << " must equal the memory width d = " << width;
  int64_t rows = dimOf(alpha, 0);
  if (!compatibleRows(rows, dimOf(key, 0)) ||
      !compatibleRows(rows, dimOf(value, 0)))
    return op->emitOpError()
           << "alpha, " << keyName << " and " << valueName
           << " must have the same number of rows, got " << dimStr(rows) << ", "
           << dimStr(dimOf(key, 0)) << " and " << dimStr(dimOf(value, 0));
  return verifyShape(op, output, "output", {rows, width});
}
} // namespace

LogicalResult MemsizerPrefillOp::verify() {
  if (!getState().getType().hasStaticShape())
    return emitOpError() << "state must have a static shape [k, d], got "
                         << shapeStr(getState());
  int64_t slots = dimOf(getState(), 0), width = dimOf(getState(), 1);
  if (failed(verifyMemsizerRows(*this, getAlpha(), getKeys(), getValues(),
                                getOutput(), slots, width, "keys", "values")))
    return failure();
  return verifyShape(*this, getNewState(), "new_state", {slots, width});
}

LogicalResult MemsizerStepOp::verify() {
  auto stateType = getState().getType();
  if (ShapedType::isDynamic(stateType.getDimSize(1)) ||
      ShapedType::isDynamic(stateType.getDimSize(2)))
    return emitOpError() << "state must have static memory dimensions "
                            "[B, k, d], got "
                         << shapeStr(getState());
  int64_t batch = stateType.getDimSize(0);
  int64_t slots = stateType.getDimSize(1), width = stateType.getDimSize(2);
  if (failed(verifyMemsizerRows(*this, getAlpha(), getKey(), getValue(),
                                getOutput(), slots, width, "key", "value")))
    return failure();
  if (!compatibleRows(batch, dimOf(getAlpha(), 0)) ||
      !compatibleRows(batch, dimOf(getCount(), 0)))
    return emitOpError() << "state, alpha and count must have the same batch "
                            "size, got "
                         << dimStr(batch) << ", "
                         << dimStr(dimOf(getAlpha(), 0)) << " and "
                         << dimStr(dimOf(getCount(), 0));
  return verifyShape(*this, getNewState(), "new_state", stateType.getShape());
}

LogicalResult MemsizerSourceMemoryOp::verify() {
  if (!getMemory().getType().hasStaticShape())
    return emitOpError() << "memory must have a static shape [k, d], got "
                         << shapeStr(getMemory());
  int64_t slots = dimOf(getMemory(), 0), width = dimOf(getMemory(), 1);
  if (dimOf(getKeys(), 1) != slots)
    return emitOpError() << "keys width " << dimStr(dimOf(getKeys(), 1))
                         << " must equal the number of memory slots k = "
                         << slots;
  if (dimOf(getValues(), 1) != width)
    return emitOpError() << "values width " << dimStr(dimOf(getValues(), 1))
                         << " must equal the memory width d = " << width;
  int64_t rows = dimOf(getKeys(), 0);
  if (!compatibleRows(rows, dimOf(getValues(), 0)) ||
      (getMask() && !compatibleRows(rows, dimOf(getMask(), 0))))
    return emitOpError() << "keys, values and mask must have the same number "
                            "of rows, got "
                         << dimStr(rows) << ", "
                         << dimStr(dimOf(getValues(), 0)) << " and "
                         << dimStr(getMask() ? dimOf(getMask(), 0) : rows);
  return success();
}

LogicalResult MemsizerCrossOp::verify() {
  auto memoryType = cast<RankedTensorType>(getMemory().getType());
  int64_t rank = memoryType.getRank();
  if (ShapedType::isDynamic(memoryType.getDimSize(rank - 2)) ||
      ShapedType::isDynamic(memoryType.getDimSize(rank - 1)))
    return emitOpError() << "memory must have a static shape [k, d] or "
                            "[M, k, d], got "
                         << shapeStr(getMemory());
  int64_t slots = memoryType.getDimSize(rank - 2);
  int64_t width = memoryType.getDimSize(rank - 1);
  if (dimOf(getAlpha(), 1) != slots)
    return emitOpError() << "alpha width " << dimStr(dimOf(getAlpha(), 1))
                         << " must equal the number of memory slots k = "
                         << slots;
  int64_t rows = dimOf(getAlpha(), 0);
  if (rank == 3) {
    int64_t memories = memoryType.getDimSize(0);
    if (!ShapedType::isDynamic(memories) && memories != 1 &&
        !compatibleRows(rows, memories))
      return emitOpError() << "memory holds " << memories << " memories for "
                           << dimStr(rows)
                           << " rows of alpha: give one, or one per row";
  }
  return verifyShape(*this, getOutput(), "output", {rows, width});
}

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

namespace {
/// Shared checks of the row-wise normalizations.
LogicalResult verifyNorm(Operation *op, Value input, ValueRange params,
                         Value output, APFloat epsilon) {
  if (failed(verifyStaticDim(op, input, 1, "input width")))
    return failure();
  int64_t width = dimOf(input, 1);
  for (auto [index, param] : llvm::enumerate(params)) {
    if (dimOf(param, 0) != width)
      return op->emitOpError() << (index == 0 ? "weight" : "bias") << " width "
                               << dimStr(dimOf(param, 0))
                               << " must equal the input width " << width;
  }
  if (failed(verifyShape(op, output, "output",
                         cast<ShapedType>(input.getType()).getShape())))
    return failure();
  return verifyPositive(op, "epsilon", epsilon);
}

/// Checks a `[rows, H * head_dim]` operand of a multi-head op.
LogicalResult verifyHeads(Operation *op, Value value, StringRef what,
                          int64_t heads) {
  if (failed(verifyStaticDim(op, value, 1, Twine(what + " width").str())))
    return failure();
  if (dimOf(value, 1) % heads != 0)
    return op->emitOpError() << what << " width " << dimOf(value, 1)
                             << " must be a multiple of num_heads = " << heads;
  return success();
}
} // namespace

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput(), getWeight(), getOutput(), getEpsilon());
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), {getWeight(), getBias()}, getOutput(),
                    getEpsilon());
}

LogicalResult RotaryOp::verify() {
  int64_t heads = getNumHeads();
  if (heads < 1)
    return emitOpError() << "num_heads must be positive, got " << heads;
  if (failed(verifyHeads(*this, getInput(), "input", heads)))
    return failure();
  int64_t headDim = getHeadDim(), dims = getRotaryDims();
  if (dims < 2 || dims > headDim || dims % 2 != 0)
    return emitOpError() << "rotary_dims must be even and in [2, head_dim = "
                         << headDim << "], got " << dims;
  if (!compatibleRows(dimOf(getInput(), 0), dimOf(getPositions(), 0)))
    return emitOpError() << "positions length " << dimOf(getPositions(), 0)
                         << " must equal the number of rows "
                         << dimOf(getInput(), 0);
  if (failed(verifyPositive(*this, "base", getBase())))
    return failure();
  return verifyShape(*this, getOutput(), "output",
                     getInput().getType().getShape());
}

namespace {
/// Shared checks of the attention ops; `causal` requires the queries to be
/// the last rows of the keys.
LogicalResult verifyAttention(Operation *op, Value query, Value key,
                              Value value, Value output, int64_t heads,
                              APFloat scale, bool causal) {
  if (heads < 1)
    return op->emitOpError() << "num_heads must be positive, got " << heads;
  if (failed(verifyHeads(op, query, "query", heads)))
    return failure();
  int64_t width = dimOf(query, 1);
  if (dimOf(key, 1) != width || dimOf(value, 1) != width)
    return op->emitOpError()
           << "query, key and value must have the same width, got " << width
           << ", " << dimStr(dimOf(key, 1)) << " and "
           << dimStr(dimOf(value, 1));
  int64_t queries = dimOf(query, 0), keys = dimOf(key, 0);
  if (!compatibleRows(keys, dimOf(value, 0)))
    return op->emitOpError()
           << "key and value must have the same number of rows, got " << keys
           << " and " << dimOf(value, 0);
  if (causal && !ShapedType::isDynamic(queries) &&
      !ShapedType::isDynamic(keys) && keys < queries)
    return op->emitOpError() << "the " << queries
                             << " queries must be the last rows of the key "
                                "sequence, which has only "
                             << keys << " rows";
  if (failed(verifyPositive(op, "scale", scale)))
    return failure();
  return verifyShape(op, output, "output", {queries, width});
}
} // namespace

LogicalResult CausalAttentionOp::verify() {
  return verifyAttention(*this, getQuery(), getKey(), getValue(), getOutput(),
                         getNumHeads(), getScale(), /*causal=*/true);
}

LogicalResult AttentionOp::verify() {
  return verifyAttention(*this, getQuery(), getKey(), getValue(), getOutput(),
                         getNumHeads(), getScale(), /*causal=*/false);
}

LogicalResult LinearOp::verify() {
  if (failed(verifyStaticDim(*this, getWeight(), 0, "weight rows")) ||
      failed(verifyStaticDim(*this, getWeight(), 1, "weight columns")))
    return failure();
  int64_t out = dimOf(getWeight(), 0), in = dimOf(getWeight(), 1);
  if (dimOf(getInput(), 1) != in)
    return emitOpError() << "input width " << dimStr(dimOf(getInput(), 1))
                         << " must equal the weight's " << in
                         << " columns (weights are [out, in])";
  if (getBias() && dimOf(getBias(), 0) != out)
    return emitOpError() << "bias width " << dimStr(dimOf(getBias(), 0))
                         << " must equal the weight's " << out << " rows";
  return verifyShape(*this, getOutput(), "output", {dimOf(getInput(), 0), out});
}

LogicalResult EmbeddingOp::verify() {
  if (failed(verifyStaticDim(*this, getTable(), 1, "table width")))
    return failure();
  return verifyShape(*this, getOutput(), "output",
                     {dimOf(getIds(), 0), dimOf(getTable(), 1)});
}
