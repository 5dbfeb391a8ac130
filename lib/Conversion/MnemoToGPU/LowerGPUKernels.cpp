//===- LowerGPUKernels.cpp - mnemo ops as GPU kernel loop nests -*- C++ -*-===//
//
// Lowers every mnemo op to `scf.parallel` loops on buffers in which one
// iteration is the work of one GPU thread: scalar code, no allocation
// inside the loops, the wide dimension of each index space innermost so
// that `-scf-parallel-loop-tiling` (tile sizes 1 x threads per block) and
// `-convert-parallel-loops-to-gpu` turn it into a grid of blocks. The same
// loops also run on the CPU (OpenMP), which is how the test suite checks
// the kernels' arithmetic against lib/Reference on machines without a GPU.
//
//   hash_lookup            (table, token): bucket and weight into scratch;
//                          (token tile, column group): sum of the K
//                          weighted rows; for few tokens (chunk of tables,
//                          token, column group), then (token, column group)
//   rms_norm, layer_norm   (row, part): partial statistics; (row): the
//                          row's; (row, column)
//   rotary, embedding      (row, column)
//   linear                 (row tile, output): dot products of length `in`;
//                          for few rows (span, row, output), then (row,
//                          output)
//   attention              (head, query): max, sum, then the head's outputs
//   memsizer_alpha         (token): the head-averaged softmax of its row
//   memsizer_prefill       (column): the column of the memory walks the
//                          tokens in order (O(T k) per column), in
//                          registers for up to 64 slots
//   memsizer_step          (sequence, column): update and read-out
//   memsizer_source_memory (slot, column); memsizer_cross (target, column)
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "mnemo/Conversion/Passes.h"

#include "../MnemoToLoops/LoopEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <numeric>
#include <tuple>

namespace mlir::mnemo {
#define GEN_PASS_DEF_LOWERGPUKERNELSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;
using namespace mlir::mnemo;

namespace {

/// Memsizer's prefill keeps a memory column of at most this many slots in
/// registers.
constexpr int64_t kRegisterSlots = 64;
/// Tokens per thread of the Memory Layer's gather, unless `token-tile` says
/// otherwise. On an H100, 2 against 8 was 1.3x to 4x faster from 512 to
/// 2048 tokens (8 leaves too few warps per SM to hide the L2's latency) and
/// within 11% either way at 8192 and 65536 (docs/benchmarks.md).
constexpr int64_t kGatherTile = 2;
/// Rows per thread of `linear`, unless `token-tile` says otherwise: each
/// weight row is read once per tile.
constexpr int64_t kLinearTile = 8;
/// Norms split a row's statistics in at most this many parts across
/// threads, of at least `kNormSpan` elements each.
constexpr int64_t kNormParts = 32;
constexpr int64_t kNormSpan = 8;

class KernelCodegen : public LoopEmitter {
public:
  KernelCodegen(ImplicitLocOpBuilder &b, int64_t tokenTile,
                int64_t splitTablesBelow, int64_t attentionScores,
                bool alignedOperands, DenseSet<Operation *> &lowered)
      : LoopEmitter(b), lowered(lowered), f32(b.getF32Type()),
        tokenTile(tokenTile), splitTablesBelow(splitTablesBelow),
        attentionScores(attentionScores), alignedOperands(alignedOperands) {}

  LogicalResult lower(Operation *op) {
    return TypeSwitch<Operation *, LogicalResult>(op)
        .Case<HashLookupOp, RMSNormOp, LayerNormOp, RotaryOp, EmbeddingOp,
              LinearOp, CausalAttentionOp, AttentionOp, MemsizerAlphaOp,
              MemsizerPrefillOp, MemsizerStepOp, MemsizerSourceMemoryOp,
              MemsizerCrossOp>([&](auto op) { return lowerOp(op); })
        .Default([](Operation *) { return success(); });
  }

private:
  //===--------------------------------------------------------------------===//
  // Helpers
  //===--------------------------------------------------------------------===//

  /// The index space `uppers` (one iteration per thread; the last
  /// dimension is the one -mnemo-tile-gpu-loops spreads over a block).
  void parallel(ValueRange uppers, function_ref<void(ValueRange)> body) {
    SmallVector<Value> zeros(uppers.size(), index(0));
    SmallVector<Value> ones(uppers.size(), index(1));
    b.create<scf::ParallelOp>(
        zeros, uppers, ones,
        [&](OpBuilder &nested, Location loc, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          body(ivs);
        });
  }
  /// One thread per (row, column), columns innermost.
  void grid(Value rows, Value cols, function_ref<void(Value, Value)> body) {
    parallel({rows, cols}, [&](ValueRange ivs) { body(ivs[0], ivs[1]); });
  }
  /// One thread per row.
  void perRow(Value rows, function_ref<void(Value)> body) {
    parallel({rows}, [&](ValueRange ivs) { body(ivs[0]); });
  }

  Value dim(Value buffer, int64_t i) {
    return b.create<memref::DimOp>(buffer, i);
  }
  /// `value` computed again at the insertion point (in a kernel) when it is
  /// a scalar read from a tensor (`tensor.extract` and arithmetic on it,
  /// such as a sequence's first position): on a GPU, the host cannot read
  /// what lives in device memory. Other values are returned as they are.
  Value inKernel(Value value) {
    Operation *def = value.getDefiningOp();
    if (!def || def->getNumRegions() != 0 || !isMemoryEffectFree(def) ||
        !readsTensor(def))
      return value;
    IRMapping mapping;
    for (Value operand : def->getOperands())
      mapping.map(operand, inKernel(operand));
    return b.clone(*def, mapping)
        ->getResult(cast<OpResult>(value).getResultNumber());
  }
  static bool readsTensor(Operation *op) {
    if (isa<tensor::ExtractOp>(op))
      return true;
    return llvm::any_of(op->getOperands(), [](Value operand) {
      Operation *def = operand.getDefiningOp();
      return def && def->getNumRegions() == 0 && isMemoryEffectFree(def) &&
             readsTensor(def);
    });
  }
  Value alloc(Type elementType, ArrayRef<int64_t> shape,
              ValueRange dynamicSizes) {
    return LoopEmitter::alloc(MemRefType::get(shape, elementType),
                              dynamicSizes);
  }
  /// An f32 result buffer shaped like `result` (dynamic sizes from `rows`).
  Value allocLike(Value result, Value rows) {
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        sizes.push_back(rows);
    return alloc(f32, type.getShape(), sizes);
  }
  Value load(Value buffer, ValueRange indices) {
    Value v = b.create<memref::LoadOp>(buffer, indices);
    if (v.getType() != f32 && isa<FloatType>(v.getType()))
      v = b.create<arith::ExtFOp>(f32, v);
    return v;
  }
  void store(Value v, Value buffer, ValueRange indices) {
    b.create<memref::StoreOp>(v, buffer, indices);
  }
  Value fadd(Value a, Value c) { return b.create<arith::AddFOp>(a, c); }
  Value fsub(Value a, Value c) { return b.create<arith::SubFOp>(a, c); }
  Value fmul(Value a, Value c) { return b.create<arith::MulFOp>(a, c); }
  Value fdiv(Value a, Value c) { return b.create<arith::DivFOp>(a, c); }
  /// `a * c + acc` (a multiply and an add, which LLVM contracts into an
  /// FMA on both targets).
  Value fma(Value a, Value c, Value acc) { return fadd(fmul(a, c), acc); }
  Value sub(Value a, Value c) { return b.create<arith::SubIOp>(a, c); }
  /// `1 / sqrt(v)`, correctly rounded steps (sqrt.rn and div.rn in PTX,
  /// with no libdevice call).
  Value reciprocalSqrt(Value v) {
    return fdiv(f32Const(1.0), b.create<math::SqrtOp>(v));
  }
  Value toF32(Value indexValue) {
    Value asInt = b.create<arith::IndexCastUIOp>(b.getI64Type(), indexValue);
    return b.create<arith::UIToFPOp>(f32, asInt);
  }
  /// `sum_{i in [lower, upper)} body(i)` in f32.
  Value sum(Value lower, Value upper, function_ref<Value(Value)> body) {
    return forLoop(lower, upper, index(1), ValueRange{f32Const(0.0)},
                   [&](Value i, ValueRange acc) -> SmallVector<Value> {
                     return {fadd(acc[0], body(i))};
                   })[0];
  }
  /// `sum_{i in [0, count)} body(i)` in f32 with up to 4 interleaved
  /// partial sums (the largest of 4, 2, 1 dividing `count`), added up at
  /// the end: independent chains instead of one long one, for a row that
  /// one GPU thread walks.
  Value interleavedSum(int64_t count, function_ref<Value(Value)> body) {
    int64_t ways = count % 4 == 0 ? 4 : count % 2 == 0 ? 2 : 1;
    SmallVector<Value> inits(ways, f32Const(0.0));
    SmallVector<Value> sums =
        forLoop(index(0), index(count), index(ways), inits,
                [&](Value i, ValueRange acc) -> SmallVector<Value> {
                  SmallVector<Value> next;
                  for (int64_t w = 0; w < ways; ++w)
                    next.push_back(fadd(acc[w], body(add(i, index(w)))));
                  return next;
                });
    while (sums.size() > 1) {
      SmallVector<Value> halves;
      for (size_t w = 0; w + 1 < sums.size(); w += 2)
        halves.push_back(fadd(sums[w], sums[w + 1]));
      sums = halves;
    }
    return sums[0];
  }
  Value maxOver(Value lower, Value upper, function_ref<Value(Value)> body) {
    return forLoop(
        lower, upper, index(1),
        ValueRange{f32Const(-std::numeric_limits<float>::infinity())},
        [&](Value i, ValueRange acc) -> SmallVector<Value> {
          return {b.create<arith::MaximumFOp>(acc[0], body(i))};
        })[0];
  }
  /// `body` for i in [0, count), carrying `inits`: in straight-line code
  /// when `unrolled`, which puts the iterations' loads in flight together
  /// (a GPU issues in order: in a loop, the first use of a load would wait
  /// for it before the next load issues), else in an scf.for.
  SmallVector<Value>
  carry(int64_t count, bool unrolled, ValueRange inits,
        function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    if (!unrolled)
      return forLoop(index(0), index(count), index(1), inits, body);
    SmallVector<Value> acc(inits);
    for (int64_t i = 0; i < count; ++i)
      acc = body(index(i), acc);
    return acc;
  }
  /// The largest divisor of `value` that is at most `limit` (1 if none
  /// above 1 is).
  static int64_t largestDivisorUpTo(int64_t value, int64_t limit) {
    for (int64_t d = std::min(limit, value); d > 1; --d)
      if (value % d == 0)
        return d;
    return 1;
  }
  /// Values of `elementType` per vector access along a row of `width`:
  /// 16 bytes' worth where `width` allows, else the widest power of two
  /// dividing it.
  static int64_t lanesFor(Type elementType, int64_t width) {
    int64_t lanes =
        std::max<int64_t>(1, 16 / (elementType.getIntOrFloatBitWidth() / 8));
    while (width % lanes != 0)
      lanes /= 2;
    return lanes;
  }
  /// Rows per thread for `input`: `tokenTile`, else `preferred`; fewer when
  /// the input has fewer rows (decoding steps have one).
  int64_t rowTile(Value input, int64_t preferred) const {
    int64_t tile = tokenTile > 0 ? tokenTile : preferred;
    int64_t rows = cast<ShapedType>(input.getType()).getDimSize(0);
    return ShapedType::isDynamic(rows)
               ? tile
               : std::max<int64_t>(1, std::min(tile, rows));
  }

  //===--------------------------------------------------------------------===//
  // The Memory Layer
  //===--------------------------------------------------------------------===//

  /// Whether `a` and `b` hash the same input the same way into tables of
  /// one type, both with a bias or both without: siblings, lowered together.
  static bool areSiblings(HashLookupOp a, HashLookupOp b) {
    return a.getInput() == b.getInput() &&
           a.getTables().getType() == b.getTables().getType() &&
           a.getWeighting() == b.getWeighting() &&
           (a.getWeighting() == Weighting::l1_prob ||
            a.getTemperature() == b.getTemperature()) &&
           static_cast<bool>(a.getBias()) == static_cast<bool>(b.getBias()) &&
           (!a.getBias() || a.getBias().getType() == b.getBias().getType()) &&
           a.getResult().getType() == b.getResult().getType() && !b.getNorm() &&
           !b.isPacked();
  }
  /// `op` and its siblings later in its block whose operands are all
  /// available at `op` (lowered at `op`'s place).
  static SmallVector<HashLookupOp> siblingsFrom(HashLookupOp op) {
    SmallVector<HashLookupOp> members = {op};
    // Values defined in the block after `op` are not (dominance gives the
    // rest: a sibling's operands dominate it, and it follows `op`).
    auto availableAt = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || def->getBlock() != op->getBlock() ||
             def->isBeforeInBlock(op);
    };
    for (Operation *user : op.getInput().getUsers()) {
      auto other = dyn_cast<HashLookupOp>(user);
      if (!other || other == op || other->getBlock() != op->getBlock() ||
          !op->isBeforeInBlock(other) || !areSiblings(op, other) ||
          !llvm::all_of(other->getOperands(), availableAt))
        continue;
      members.push_back(other);
    }
    llvm::sort(members, [](HashLookupOp a, HashLookupOp b) {
      return a->isBeforeInBlock(b);
    });
    return members;
  }

  /// `values[member]`, chosen at run time: a chain of selects (`values[0]`
  /// when there is one member).
  Value pick(Value member, ArrayRef<Value> values) {
    Value chosen = values[0];
    for (size_t m = 1; m < values.size(); ++m)
      chosen = b.create<arith::SelectOp>(
          b.create<arith::CmpIOp>(arith::CmpIPredicate::eq, member,
                                  index(static_cast<int64_t>(m))),
          values[m], chosen);
    return chosen;
  }

  /// One Memory Layer, or a group of sibling lookups (MemoryFormer's Q, K
  /// and V), lowered together at the first one's place: one hash grid,
  /// and gathers over the members' column groups side by side, each thread
  /// picking its member's tables, bias and output with selects.
  LogicalResult lowerOp(HashLookupOp op) {
    if (op.getNorm() || op.isPacked())
      return op.emitOpError()
             << "the GPU kernels take lookups without a folded norm or "
                "packed tables (run them before -mnemo-fold-norms and "
                "-mnemo-pack-tables)";
    SmallVector<HashLookupOp> members = siblingsFrom(op);
    int64_t numMembers = static_cast<int64_t>(members.size());
    int64_t numTables = op.getNumTables(), tau = op.getBitsPerTable();
    int64_t h = op.getOutputWidth();
    Value x = readBuffer(op.getInput(), true);
    SmallVector<Value> memberTables, memberBiases, memberOuts;
    for (HashLookupOp member : members) {
      memberTables.push_back(readBuffer(member.getTables(), false));
      if (member.getBias())
        memberBiases.push_back(readBuffer(member.getBias(), false));
    }
    Value n = dim(x, 0);
    bool l1 = op.getWeighting() == Weighting::l1_prob;
    double t = l1 ? 1.0 : op.getTemperature().convertToDouble();

    // The gather, token-blocked: each thread owns a group of `lanes`
    // columns (one 16-byte load of a row when `h` allows it) for a tile of
    // `tile` tokens, with the tile's accumulators in registers, and walks
    // the K tables once: per table, the tile's rows are independent loads
    // in flight together, and rows that several of the tile's tokens hit
    // come from L1. Neighbouring threads own neighbouring column groups of
    // the same tile, so a warp reads whole row segments.
    Type elementType = getElementTypeOrSelf(op.getTables().getType());
    int64_t lanes = lanesFor(elementType, h);
    int64_t tile = rowTile(op.getInput(), kGatherTile);
    int64_t groups = h / lanes;
    // Column groups of all members, side by side.
    int64_t allGroups = numMembers * groups;
    auto rowType = VectorType::get({lanes}, elementType);
    auto accType = VectorType::get({lanes}, f32);
    for (HashLookupOp member : members)
      memberOuts.push_back(allocLike(member.getResult(), n));
    Value zero = index(0);
    Value tiledThreads =
        mul(b.create<arith::CeilDivUIOp>(n, index(tile)), index(allGroups));
    // The member and first column of the column group `g` in [0,
    // allGroups).
    auto columnOf = [&](Value g) -> std::pair<Value, Value> {
      if (numMembers == 1)
        return {zero, mul(g, index(lanes))};
      return {b.create<arith::DivUIOp>(g, index(groups)),
              mul(b.create<arith::RemUIOp>(g, index(groups)), index(lanes))};
    };

    // Few tokens (decoding, small batches): fewer than `splitTablesBelow`
    // threads of token tiles x column groups would leave most of a GPU
    // idle while each of them walks all K tables. Then threads take one
    // token and a chunk of `chunk` tables (the largest divisor of K up to
    // 8) each, hashing the chunk's tables themselves (no hash kernel: a
    // decoding step's lookup is two kernels), writing their sums to a
    // scratch buffer [N, K / chunk, members x h] (static strides: 16-byte
    // accesses), and a second kernel adds the chunks up with the bias, in
    // a fixed order (no atomics: the same result on every run). The choice
    // is made at run time from N; the other path's index spaces are empty,
    // so its kernels are not launched.
    int64_t chunk = largestDivisorUpTo(numTables, 8);
    int64_t chunks = numTables / chunk;
    Value splitTokens, hashTokens = n;
    if (splitTablesBelow > 0 && chunks > 1) {
      Value split = b.create<arith::CmpIOp>(
          arith::CmpIPredicate::ult, tiledThreads, index(splitTablesBelow));
      splitTokens = b.create<arith::SelectOp>(split, n, zero);
      hashTokens = b.create<arith::SelectOp>(split, zero, n);
      tiledThreads = b.create<arith::SelectOp>(split, zero, tiledThreads);
    }

    // Per table and token: the bucket (element 0 of the chunk is the most
    // significant bit; z >= 0, so 0.0 and -0.0, sets it, as an index) and
    // the weight.
    auto hash = [&](Value table, Value token) -> std::pair<Value, Value> {
      Value first = mul(table, index(tau));
      SmallVector<Value> init = {index(0), f32Const(1.0), f32Const(0.0)};
      SmallVector<Value> hashed = forLoop(
          index(0), index(tau), index(1), init,
          [&](Value j, ValueRange acc) -> SmallVector<Value> {
            Value z = load(x, {token, add(first, j)});
            Value set = b.create<arith::CmpFOp>(arith::CmpFPredicate::OGE, z,
                                                f32Const(0.0));
            Value bit = b.create<arith::SelectOp>(
                set, b.create<arith::ShLIOp>(index(1), sub(index(tau - 1), j)),
                index(0));
            Value magnitude = b.create<math::AbsFOp>(z);
            Value e =
                b.create<math::ExpOp>(fmul(magnitude, f32Const(-2.0 / t)));
            return {b.create<arith::OrIOp>(acc[0], bit),
                    fmul(acc[1], fadd(e, f32Const(1.0))),
                    fadd(acc[2], magnitude)};
          });
      return {hashed[0], fdiv(l1 ? hashed[2] : f32Const(1.0), hashed[1])};
    };

    // For the token-tiled gather, the hashes into scratch, tokens innermost
    // so that neighbouring threads write neighbouring words and a thread of
    // the gather reads its tile's tokens together. Buckets are below 2^16
    // (tau <= 16): 32-bit words. Siblings share them.
    Value buckets = alloc(b.getI32Type(), {numTables, ShapedType::kDynamic},
                          ValueRange{hashTokens});
    Value weights =
        alloc(f32, {numTables, ShapedType::kDynamic}, ValueRange{hashTokens});
    grid(index(numTables), hashTokens, [&](Value table, Value token) {
      auto [row, w] = hash(table, token);
      store(b.create<arith::IndexCastUIOp>(b.getI32Type(), row), buckets,
            {table, token});
      store(w, weights, {table, token});
    });

    // `acc[i] + sum over tables [from, from + count) of the weighted rows
    // of tokens[i]`, for columns [column, column + lanes) of `tables`: a
    // loop over the tables, or straight-line code (`unrolled`: all `count`
    // row loads in flight together).
    // With `inThread`, the buckets and weights are computed here rather
    // than read from the hash kernel's scratch.
    auto gather = [&](Value tables, ValueRange tokens, Value from,
                      int64_t count, bool unrolled, bool inThread, Value column,
                      ValueRange inits) {
      auto step = [&](Value table, ValueRange acc) {
        SmallVector<Value> next;
        for (auto [token, sum] : llvm::zip(tokens, acc)) {
          Value row, w;
          if (inThread) {
            std::tie(row, w) = hash(table, token);
          } else {
            row = b.create<arith::IndexCastUIOp>(
                b.getIndexType(),
                b.create<memref::LoadOp>(buckets, ValueRange{table, token}));
            w = b.create<memref::LoadOp>(weights, ValueRange{table, token});
          }
          Value values = b.create<vector::LoadOp>(
              rowType, tables, ValueRange{table, row, column});
          if (elementType != f32)
            values = b.create<arith::ExtFOp>(accType, values);
          next.push_back(
              b.create<vector::FMAOp>(splat(accType, w), values, sum));
        }
        return next;
      };
      return carry(count, unrolled, inits,
                   [&](Value c, ValueRange acc) -> SmallVector<Value> {
                     return step(add(from, c), acc);
                   });
    };
    auto assumeAligned = [&](ArrayRef<Value> buffers) {
      if (alignedOperands)
        for (Value buffer : buffers)
          if (buffer)
            b.create<memref::AssumeAlignmentOp>(buffer, 16);
    };
    auto biasOrZero = [&](Value bias, Value column) -> Value {
      return bias ? b.create<vector::LoadOp>(accType, bias, column)
                  : splat(accType, f32Const(0.0));
    };
    auto biasOf = [&](Value member) -> Value {
      return memberBiases.empty() ? Value() : pick(member, memberBiases);
    };

    Value partial;
    if (splitTokens) {
      partial = alloc(f32, {ShapedType::kDynamic, chunks, numMembers * h},
                      ValueRange{splitTokens});
      parallel(
          {index(chunks), mul(splitTokens, index(allGroups))},
          [&](ValueRange ivs) {
            Value token = b.create<arith::DivUIOp>(ivs[1], index(allGroups));
            Value g = b.create<arith::RemUIOp>(ivs[1], index(allGroups));
            auto [member, column] = columnOf(g);
            Value tables = pick(member, memberTables);
            assumeAligned({tables, partial});
            Value sum = gather(tables, ValueRange{token},
                               mul(ivs[0], index(chunk)), chunk,
                               /*unrolled=*/true, /*inThread=*/true, column,
                               ValueRange{splat(accType, f32Const(0.0))})[0];
            b.create<vector::StoreOp>(
                sum, partial, ValueRange{token, ivs[0], mul(g, index(lanes))});
          });
      perRow(mul(splitTokens, index(allGroups)), [&](Value thread) {
        Value token = b.create<arith::DivUIOp>(thread, index(allGroups));
        Value g = b.create<arith::RemUIOp>(thread, index(allGroups));
        auto [member, column] = columnOf(g);
        Value bias = biasOf(member), out = pick(member, memberOuts);
        Value partialColumn = mul(g, index(lanes));
        assumeAligned({bias, partial, out});
        // Up to 16 chunks in straight-line code (their loads in flight
        // together), more in a loop.
        Value sum = carry(
            chunks, /*unrolled=*/chunks <= 16,
            ValueRange{biasOrZero(bias, column)},
            [&](Value c, ValueRange acc) -> SmallVector<Value> {
              return {fadd(acc[0], b.create<vector::LoadOp>(
                                       accType, partial,
                                       ValueRange{token, c, partialColumn}))};
            })[0];
        b.create<vector::StoreOp>(sum, out, ValueRange{token, column});
      });
    }

    perRow(tiledThreads, [&](Value thread) {
      Value first =
          mul(b.create<arith::DivUIOp>(thread, index(allGroups)), index(tile));
      auto [member, column] =
          columnOf(b.create<arith::RemUIOp>(thread, index(allGroups)));
      Value tables = pick(member, memberTables);
      Value bias = biasOf(member), out = pick(member, memberOuts);
      assumeAligned({tables, bias, out});
      Value start = biasOrZero(bias, column);
      // Tokens past the end repeat the last one (in range, and rows the
      // tile already reads); only their results are not stored.
      Value last = sub(n, index(1));
      SmallVector<Value> tokens;
      for (int64_t i = 0; i < tile; ++i)
        tokens.push_back(minIndex(add(first, index(i)), last));
      SmallVector<Value> inits(tile, start);
      SmallVector<Value> sums =
          gather(tables, tokens, zero, numTables, /*unrolled=*/false,
                 /*inThread=*/false, column, inits);
      for (int64_t i = 0; i < tile; ++i) {
        Value token = add(first, index(i));
        Value inRange =
            b.create<arith::CmpIOp>(arith::CmpIPredicate::ult, token, n);
        b.create<scf::IfOp>(inRange, [&](OpBuilder &nested, Location loc) {
          nested.create<vector::StoreOp>(loc, sums[i], out,
                                         ValueRange{token, column});
          nested.create<scf::YieldOp>(loc);
        });
      }
    });
    if (partial)
      b.create<memref::DeallocOp>(partial);
    b.create<memref::DeallocOp>(buckets);
    b.create<memref::DeallocOp>(weights);
    // The first member last: the builder inserts before it.
    for (int64_t m = numMembers - 1; m >= 0; --m) {
      lowered.insert(members[m]);
      finish(members[m], {memberOuts[m]});
    }
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Norms, rotary, embedding, linear, attention
  //===--------------------------------------------------------------------===//

  /// A row's statistics, then the normalized values: `(x - mean) * rstd *
  /// g (+ b)`, `mean` zero for RMSNorm. Rows wide enough are split in
  /// `parts` interleaved parts (element `p + parts * j` belongs to part `p`,
  /// so a warp's loads of a row are contiguous), one thread per (row, part)
  /// summing its part (and, for LayerNorm, the squared deviations from the
  /// part's own mean), and one thread per row combines the parts in order
  /// (Chan et al.: M2 = sum_p M2_p + span (mean_p - mean)^2): a decoding
  /// step's single row was one thread walking all of it. Narrow rows take
  /// one thread each, in up to 4 interleaved partial sums.
  LogicalResult lowerNorm(Operation *op, Value input, Value weight, Value bias,
                          double epsilon, bool centered) {
    Value x = readBuffer(input, true);
    Value g = readBuffer(weight, false);
    Value beta = readBuffer(bias, false);
    Value n = dim(x, 0);
    int64_t d = cast<RankedTensorType>(input.getType()).getDimSize(1);
    Value means = alloc(f32, {ShapedType::kDynamic}, ValueRange{n});
    Value scales = alloc(f32, {ShapedType::kDynamic}, ValueRange{n});
    Value width = f32Const(static_cast<double>(d));
    auto storeStatistics = [&](Value r, Value mean, Value squares) {
      store(mean, means, {r});
      store(reciprocalSqrt(fadd(fdiv(squares, width), f32Const(epsilon))),
            scales, {r});
    };
    int64_t parts = largestDivisorUpTo(d, std::min(kNormParts, d / kNormSpan));
    if (parts > 1) {
      int64_t span = d / parts;
      // Per (row, part): the part's sum and its squared deviations (from
      // its own mean for LayerNorm, from zero for RMSNorm).
      Value sums = alloc(f32, {ShapedType::kDynamic, parts}, ValueRange{n});
      Value deviations =
          alloc(f32, {ShapedType::kDynamic, parts}, ValueRange{n});
      grid(n, index(parts), [&](Value r, Value p) {
        auto element = [&](Value j) {
          return load(x, {r, add(p, mul(j, index(parts)))});
        };
        Value sum = centered ? interleavedSum(span, element) : f32Const(0.0);
        Value mean = fdiv(sum, f32Const(static_cast<double>(span)));
        Value squares = interleavedSum(span, [&](Value j) {
          Value c = centered ? fsub(element(j), mean) : element(j);
          return fmul(c, c);
        });
        store(sum, sums, {r, p});
        store(squares, deviations, {r, p});
      });
      perRow(n, [&](Value r) {
        Value mean =
            centered
                ? fdiv(
                      carry(parts, /*unrolled=*/true, ValueRange{f32Const(0.0)},
                            [&](Value p, ValueRange acc) -> SmallVector<Value> {
                              return {fadd(acc[0], load(sums, {r, p}))};
                            })[0],
                      width)
                : f32Const(0.0);
        Value squares = carry(
            parts, /*unrolled=*/true, ValueRange{f32Const(0.0)},
            [&](Value p, ValueRange acc) -> SmallVector<Value> {
              Value m2 = load(deviations, {r, p});
              if (!centered)
                return {fadd(acc[0], m2)};
              Value offset = fsub(
                  fdiv(load(sums, {r, p}), f32Const(static_cast<double>(span))),
                  mean);
              return {
                  fadd(acc[0], fma(fmul(offset, offset),
                                   f32Const(static_cast<double>(span)), m2))};
            })[0];
        storeStatistics(r, mean, squares);
      });
      b.create<memref::DeallocOp>(sums);
      b.create<memref::DeallocOp>(deviations);
    } else {
      perRow(n, [&](Value r) {
        Value mean = centered ? fdiv(interleavedSum(d,
                                                    [&](Value j) {
                                                      return load(x, {r, j});
                                                    }),
                                     width)
                              : f32Const(0.0);
        Value squares = interleavedSum(d, [&](Value j) {
          Value c = fsub(load(x, {r, j}), mean);
          return fmul(c, c);
        });
        storeStatistics(r, mean, squares);
      });
    }
    Value out = allocLike(op->getResult(0), n);
    grid(n, index(d), [&](Value r, Value j) {
      Value y =
          fmul(fmul(fsub(load(x, {r, j}), load(means, {r})), load(scales, {r})),
               load(g, {j}));
      if (beta)
        y = fadd(y, load(beta, {j}));
      store(y, out, {r, j});
    });
    b.create<memref::DeallocOp>(means);
    b.create<memref::DeallocOp>(scales);
    finish(op, {out});
    return success();
  }
  LogicalResult lowerOp(RMSNormOp op) {
    return lowerNorm(op, op.getInput(), op.getWeight(), Value(),
                     op.getEpsilon().convertToDouble(), false);
  }
  LogicalResult lowerOp(LayerNormOp op) {
    return lowerNorm(op, op.getInput(), op.getWeight(), op.getBias(),
                     op.getEpsilon().convertToDouble(), true);
  }

  LogicalResult lowerOp(RotaryOp op) {
    Value x = readBuffer(op.getInput(), true);
    Value positions = readBuffer(op.getPositions(), false);
    Value n = dim(x, 0);
    int64_t width = op.getInput().getType().getDimSize(1);
    int64_t headDim = op.getHeadDim(), dims = op.getRotaryDims();
    int64_t half = dims / 2;
    double logBase = std::log(op.getBase().convertToDouble());
    Type f64 = b.getF64Type();
    Value out = allocLike(op.getResult(), n);
    grid(n, index(width), [&](Value r, Value c) {
      // Column i of its head: rotated with its partner i +- r/2 when
      // i < r, copied otherwise. The angle is computed in f64.
      Value i = b.create<arith::RemUIOp>(c, index(headDim));
      Value value = load(x, {r, c});
      Value rotated =
          b.create<arith::CmpIOp>(arith::CmpIPredicate::ult, i, index(dims));
      auto branch = b.create<scf::IfOp>(
          rotated,
          [&](OpBuilder &nested, Location) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nested.getInsertionBlock(),
                                nested.getInsertionPoint());
            Value low = b.create<arith::CmpIOp>(arith::CmpIPredicate::ult, i,
                                                index(half));
            Value pair =
                b.create<arith::SelectOp>(low, index(half), index(-half));
            Value slot = b.create<arith::SelectOp>(low, i, sub(i, index(half)));
            Value partner = load(x, {r, add(c, pair)});
            Value position = b.create<arith::SIToFPOp>(
                f64, b.create<memref::LoadOp>(positions, r));
            Value slotF64 = b.create<arith::UIToFPOp>(
                f64, b.create<arith::IndexCastUIOp>(b.getI64Type(), slot));
            Value frequency = b.create<math::ExpOp>(b.create<arith::MulFOp>(
                slotF64, b.create<arith::ConstantOp>(
                             b.getF64FloatAttr(-2.0 * logBase / dims))));
            Value theta = b.create<arith::MulFOp>(position, frequency);
            Value cosine =
                b.create<arith::TruncFOp>(f32, b.create<math::CosOp>(theta));
            Value sine =
                b.create<arith::TruncFOp>(f32, b.create<math::SinOp>(theta));
            // low: x cos - partner sin; high: x cos + partner sin.
            Value signedSine = b.create<arith::SelectOp>(
                low, b.create<arith::NegFOp>(sine), sine);
            b.create<scf::YieldOp>(
                fma(partner, signedSine, fmul(value, cosine)));
          },
          [&](OpBuilder &nested, Location loc) {
            nested.create<scf::YieldOp>(loc, value);
          });
      store(branch.getResult(0), out, {r, c});
    });
    finish(op, {out});
    return success();
  }

  LogicalResult lowerOp(EmbeddingOp op) {
    Value table = readBuffer(op.getTable(), false);
    Value ids = readBuffer(op.getIds(), false);
    Value n = dim(ids, 0);
    int64_t width = op.getTable().getType().getDimSize(1);
    Value out = allocLike(op.getResult(), n);
    grid(n, index(width), [&](Value r, Value c) {
      Value id = b.create<arith::IndexCastOp>(b.getIndexType(),
                                              b.create<memref::LoadOp>(ids, r));
      store(load(table, {id, c}), out, {r, c});
    });
    finish(op, {out});
    return success();
  }

  /// One thread per (tile of `tokenTile` rows, output): the output's
  /// weight row is read once per tile, `lanes` values (16 bytes) at a
  /// time, and each of the tile's rows accumulates lane-wise partial sums
  /// in registers, added up at the end. Neighbouring threads take
  /// neighbouring outputs of the same tile, so their reads of the input
  /// rows are the same addresses (one broadcast per warp). Rows past the
  /// end repeat the last one and are not stored.
  LogicalResult lowerOp(LinearOp op) {
    Value x = readBuffer(op.getInput(), true);
    // The weight with an identity layout, so that its rows' 16-byte
    // alignment is known (a weight that is a view is copied first).
    Value w = readBuffer(op.getWeight(), false);
    Value bias = readBuffer(op.getBias(), false);
    Value n = dim(x, 0);
    auto weightType = op.getWeight().getType();
    int64_t outputs = weightType.getDimSize(0), in = weightType.getDimSize(1);
    Type elementType = weightType.getElementType();
    int64_t lanes = lanesFor(elementType, in);
    int64_t tile = rowTile(op.getInput(), kLinearTile);
    auto weightVector = VectorType::get({lanes}, elementType);
    auto inputVector =
        VectorType::get({lanes}, getElementTypeOrSelf(op.getInput().getType()));
    auto accType = VectorType::get({lanes}, f32);
    auto widen = [&](Value v) -> Value {
      return v.getType() == accType ? v : b.create<arith::ExtFOp>(accType, v);
    };
    Value out = allocLike(op.getResult(), n);
    Value tiles = b.create<arith::CeilDivUIOp>(n, index(tile));
    auto assumeAligned = [&] {
      if (alignedOperands && lanes > 1)
        b.create<memref::AssumeAlignmentOp>(w, 16);
    };

    // Few rows (decoding): fewer than `splitTablesBelow` threads of (row
    // tile, output) would leave most of a GPU idle while each walks a
    // whole row of `in` values. Then the dot products are split in `parts`
    // spans of the row (the largest divisor of in / lanes up to 16), one
    // thread per (span, row, output) writing its sum to a scratch buffer
    // [N, parts, outputs], and a second kernel adds the spans up with the
    // bias in a fixed order. As for lookups, the choice is made at run time
    // from N, and the other path's index spaces are empty.
    int64_t vectors = in / lanes;
    int64_t parts = largestDivisorUpTo(vectors, 16);
    Value partial;
    if (splitTablesBelow > 0 && parts > 1) {
      Value zero = index(0);
      Value split = b.create<arith::CmpIOp>(arith::CmpIPredicate::ult,
                                            mul(tiles, index(outputs)),
                                            index(splitTablesBelow));
      Value splitRows = b.create<arith::SelectOp>(split, n, zero);
      tiles = b.create<arith::SelectOp>(split, zero, tiles);
      partial = alloc(f32, {ShapedType::kDynamic, parts, outputs},
                      ValueRange{splitRows});
      int64_t span = in / parts;
      parallel(
          {index(parts), mul(splitRows, index(outputs))}, [&](ValueRange ivs) {
            Value row = b.create<arith::DivUIOp>(ivs[1], index(outputs));
            Value o = b.create<arith::RemUIOp>(ivs[1], index(outputs));
            assumeAligned();
            Value from = mul(ivs[0], index(span));
            Value sum = forLoop(
                from, add(from, index(span)), index(lanes),
                ValueRange{splat(accType, f32Const(0.0))},
                [&](Value j, ValueRange acc) -> SmallVector<Value> {
                  Value weights = widen(b.create<vector::LoadOp>(
                      weightVector, w, ValueRange{o, j}));
                  Value inputs = widen(b.create<vector::LoadOp>(
                      inputVector, x, ValueRange{row, j}));
                  return {b.create<vector::FMAOp>(inputs, weights, acc[0])};
                })[0];
            store(
                b.create<vector::ReductionOp>(vector::CombiningKind::ADD, sum),
                partial, {row, ivs[0], o});
          });
      perRow(mul(splitRows, index(outputs)), [&](Value thread) {
        Value row = b.create<arith::DivUIOp>(thread, index(outputs));
        Value o = b.create<arith::RemUIOp>(thread, index(outputs));
        Value start = bias ? load(bias, {o}) : f32Const(0.0);
        Value total = carry(parts, /*unrolled=*/true, ValueRange{start},
                            [&](Value p, ValueRange acc) -> SmallVector<Value> {
                              return {fadd(acc[0], load(partial, {row, p, o}))};
                            })[0];
        store(total, out, {row, o});
      });
    }

    grid(tiles, index(outputs), [&](Value t, Value o) {
      assumeAligned();
      Value first = mul(t, index(tile));
      Value last = sub(n, index(1));
      SmallVector<Value> rows;
      for (int64_t i = 0; i < tile; ++i)
        rows.push_back(minIndex(add(first, index(i)), last));
      SmallVector<Value> inits(tile, splat(accType, f32Const(0.0)));
      SmallVector<Value> sums = forLoop(
          index(0), index(in), index(lanes), inits,
          [&](Value j, ValueRange acc) -> SmallVector<Value> {
            Value weights = widen(
                b.create<vector::LoadOp>(weightVector, w, ValueRange{o, j}));
            SmallVector<Value> next;
            for (int64_t i = 0; i < tile; ++i) {
              Value inputs = widen(b.create<vector::LoadOp>(
                  inputVector, x, ValueRange{rows[i], j}));
              next.push_back(b.create<vector::FMAOp>(inputs, weights, acc[i]));
            }
            return next;
          });
      Value start = bias ? load(bias, {o}) : f32Const(0.0);
      for (int64_t i = 0; i < tile; ++i) {
        Value row = add(first, index(i));
        Value total = fadd(
            b.create<vector::ReductionOp>(vector::CombiningKind::ADD, sums[i]),
            start);
        Value inRange =
            b.create<arith::CmpIOp>(arith::CmpIPredicate::ult, row, n);
        b.create<scf::IfOp>(inRange, [&](OpBuilder &nested, Location loc) {
          nested.create<memref::StoreOp>(loc, total, out, ValueRange{row, o});
          nested.create<scf::YieldOp>(loc);
        });
      }
    });
    if (partial)
      b.create<memref::DeallocOp>(partial);
    finish(op, {out});
    return success();
  }

  /// Attention through a scratch buffer of at most `attentionScores`
  /// scores: the queries go in chunks (a host loop) of as many as fit, at
  /// least one; per chunk, one thread per (head x query, key) computes a
  /// score, then one per (query, output column) takes the largest of its
  /// head's scores, the softmax's sum and the column's weighted sum of
  /// values. No thread walks the keys more than once per pass: a decoding
  /// step runs heads x keys threads, then d. With `attentionScores` 0, one
  /// thread per (head, query) instead: the largest score, the softmax's
  /// sum, then the head's outputs accumulated over the keys (every score
  /// computed three times in a row).
  LogicalResult lowerAttention(Operation *op, Value query, Value key,
                               Value value, int64_t heads, double scale,
                               bool causal) {
    Value q = readBuffer(query, true), k = readBuffer(key, true);
    Value v = readBuffer(value, true);
    Value n = dim(q, 0), m = dim(k, 0);
    int64_t width = cast<RankedTensorType>(query.getType()).getDimSize(1);
    int64_t headDim = width / heads;
    Value out = allocLike(op->getResult(0), n);
    Value scaleValue = f32Const(scale);
    Value zero = index(0), one = index(1);
    // Query i is position m - n + i of the keys: it sees keys 0 .. that.
    auto visibleTo = [&](Value i) {
      return causal ? add(sub(m, n), add(i, one)) : m;
    };
    auto dot = [&](Value i, Value j, Value base) {
      return fmul(
          scaleValue, sum(zero, index(headDim), [&](Value e) {
            return fmul(load(q, {i, add(base, e)}), load(k, {j, add(base, e)}));
          }));
    };

    if (attentionScores == 0) {
      grid(index(heads), n, [&](Value h, Value i) {
        Value base = mul(h, index(headDim));
        Value visible = visibleTo(i);
        auto score = [&](Value j) { return dot(i, j, base); };
        Value top = maxOver(zero, visible, score);
        Value total = sum(zero, visible, [&](Value j) {
          return b.create<math::ExpOp>(fsub(score(j), top));
        });
        forLoop(zero, index(headDim), one, [&](Value e) {
          store(f32Const(0.0), out, {i, add(base, e)});
        });
        forLoop(zero, visible, one, [&](Value j) {
          Value p = fdiv(b.create<math::ExpOp>(fsub(score(j), top)), total);
          forLoop(zero, index(headDim), one, [&](Value e) {
            Value column = add(base, e);
            store(fma(p, load(v, {j, column}), load(out, {i, column})), out,
                  {i, column});
          });
        });
      });
      finish(op, {out});
      return success();
    }

    // Queries per chunk: as many as fit, at least one, at most n.
    Value fit = b.create<arith::DivUIOp>(
        index(attentionScores),
        b.create<arith::MaxUIOp>(mul(m, index(heads)), one));
    Value chunk = b.create<arith::MinUIOp>(b.create<arith::MaxUIOp>(fit, one),
                                           b.create<arith::MaxUIOp>(n, one));
    Value scores =
        alloc(f32, {heads, ShapedType::kDynamic, ShapedType::kDynamic},
              ValueRange{chunk, m});
    forLoop(zero, n, chunk, [&](Value first) {
      Value rows = b.create<arith::MinUIOp>(chunk, sub(n, first));
      // (head x query, key): two dimensions, as every kernel here has (a
      // third would map the threads of a block to the z dimension, which
      // holds at most 64).
      parallel({mul(index(heads), rows), m}, [&](ValueRange ivs) {
        Value h = b.create<arith::DivUIOp>(ivs[0], rows);
        Value row = b.create<arith::RemUIOp>(ivs[0], rows);
        Value i = add(first, row), j = ivs[1];
        Value seen =
            b.create<arith::CmpIOp>(arith::CmpIPredicate::ult, j, visibleTo(i));
        b.create<scf::IfOp>(seen, [&](OpBuilder &nested, Location loc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nested.getInsertionBlock(),
                              nested.getInsertionPoint());
          store(dot(i, j, mul(h, index(headDim))), scores, {h, row, j});
          b.create<scf::YieldOp>();
        });
      });
      grid(rows, index(width), [&](Value row, Value c) {
        Value i = add(first, row);
        Value h = b.create<arith::DivUIOp>(c, index(headDim));
        Value visible = visibleTo(i);
        auto score = [&](Value j) { return load(scores, {h, row, j}); };
        Value top = maxOver(zero, visible, score);
        auto weight = [&](Value j) {
          return b.create<math::ExpOp>(fsub(score(j), top));
        };
        Value total = sum(zero, visible, weight);
        Value acc = sum(zero, visible, [&](Value j) {
          return fmul(weight(j), load(v, {j, c}));
        });
        // No visible key (an empty source): zeros.
        Value any = b.create<arith::CmpFOp>(arith::CmpFPredicate::OGT, total,
                                            f32Const(0.0));
        store(b.create<arith::SelectOp>(any, fdiv(acc, total), f32Const(0.0)),
              out, {i, c});
      });
    });
    b.create<memref::DeallocOp>(scores);
    finish(op, {out});
    return success();
  }
  LogicalResult lowerOp(CausalAttentionOp op) {
    return lowerAttention(op, op.getQuery(), op.getKey(), op.getValue(),
                          op.getNumHeads(), op.getScale().convertToDouble(),
                          true);
  }
  LogicalResult lowerOp(AttentionOp op) {
    return lowerAttention(op, op.getQuery(), op.getKey(), op.getValue(),
                          op.getNumHeads(), op.getScale().convertToDouble(),
                          false);
  }

  //===--------------------------------------------------------------------===//
  // Memsizer
  //===--------------------------------------------------------------------===//

  LogicalResult lowerOp(MemsizerAlphaOp op) {
    Value logits = readBuffer(op.getLogits(), true);
    Value n = dim(logits, 0);
    int64_t heads = op.getNumHeads();
    int64_t slots = op.getAlpha().getType().getDimSize(1);
    Value out = allocLike(op.getAlpha(), n);
    Value perHead = f32Const(1.0 / static_cast<double>(heads));
    perRow(n, [&](Value t) {
      forLoop(index(0), index(slots), index(1), [&](Value s) {
        store(f32Const(0.0), out, {t, s});
      });
      forLoop(index(0), index(heads), index(1), [&](Value h) {
        Value base = mul(h, index(slots));
        auto logit = [&](Value s) { return load(logits, {t, add(base, s)}); };
        Value top = maxOver(index(0), index(slots), logit);
        Value total = sum(index(0), index(slots), [&](Value s) {
          return b.create<math::ExpOp>(fsub(logit(s), top));
        });
        Value factor = fdiv(perHead, total);
        forLoop(index(0), index(slots), index(1), [&](Value s) {
          Value p = b.create<math::ExpOp>(fsub(logit(s), top));
          store(fma(p, factor, load(out, {t, s})), out, {t, s});
        });
      });
    });
    finish(op, {out});
    return success();
  }

  LogicalResult lowerOp(MemsizerPrefillOp op) {
    bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
    auto stateType = op.getState().getType();
    int64_t slots = stateType.getDimSize(0), width = stateType.getDimSize(1);
    Value alpha = readBuffer(op.getAlpha(), true);
    Value keys = readBuffer(op.getKeys(), true);
    Value values = readBuffer(op.getValues(), true);
    Value n = dim(alpha, 0);
    // Updated in place when only written back where it came from (each
    // thread owns its columns).
    Value inPlace = inPlaceDestination(op.getState(), op.getNewState());
    Value state = inPlace ? inPlace : readBuffer(op.getState(), true);
    Value memory = inPlace ? inPlace : alloc(f32, {slots, width}, ValueRange{});
    Value out = allocLike(op.getOutput(), n);
    // Each column of the memory walks the tokens in order. With up to
    // kRegisterSlots slots the column stays in registers across the
    // tokens (loop-carried values, the slot loop unrolled), else it is
    // updated in place in the new state's buffer.
    if (slots <= kRegisterSlots) {
      perRow(index(width), [&](Value c) {
        Value start = inKernel(op.getStart());
        SmallVector<Value> column;
        for (int64_t s = 0; s < slots; ++s)
          column.push_back(load(state, {index(s), c}));
        column = forLoop(
            index(0), n, index(1), column,
            [&](Value t, ValueRange previous) -> SmallVector<Value> {
              Value v = load(values, {t, c});
              SmallVector<Value> updated;
              Value acc = f32Const(0.0);
              for (int64_t s = 0; s < slots; ++s) {
                updated.push_back(
                    fma(load(keys, {t, index(s)}), v, previous[s]));
                acc = fma(load(alpha, {t, index(s)}), updated.back(), acc);
              }
              Value scale = positionScale(add(add(start, t), index(1)), rsqrt);
              store(fmul(acc, scale), out, {t, c});
              return updated;
            });
        for (int64_t s = 0; s < slots; ++s)
          store(column[s], memory, {index(s), c});
      });
      finish(op, {out, inPlace ? Value() : memory});
      return success();
    }
    perRow(index(width), [&](Value c) {
      Value start = inKernel(op.getStart());
      if (!inPlace)
        forLoop(index(0), index(slots), index(1), [&](Value s) {
          store(load(state, {s, c}), memory, {s, c});
        });
      forLoop(index(0), n, index(1), [&](Value t) {
        Value v = load(values, {t, c});
        Value acc = forLoop(
            index(0), index(slots), index(1), ValueRange{f32Const(0.0)},
            [&](Value s, ValueRange acc) -> SmallVector<Value> {
              Value updated = fma(load(keys, {t, s}), v, load(memory, {s, c}));
              store(updated, memory, {s, c});
              return {fma(load(alpha, {t, s}), updated, acc[0])};
            })[0];
        Value scale = positionScale(add(add(start, t), index(1)), rsqrt);
        store(fmul(acc, scale), out, {t, c});
      });
    });
    finish(op, {out, inPlace ? Value() : memory});
    return success();
  }

  LogicalResult lowerOp(MemsizerStepOp op) {
    bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
    auto stateType = op.getState().getType();
    int64_t slots = stateType.getDimSize(1), width = stateType.getDimSize(2);
    Value alpha = readBuffer(op.getAlpha(), true);
    Value key = readBuffer(op.getKey(), true);
    Value value = readBuffer(op.getValue(), true);
    Value count = readBuffer(op.getCount(), false);
    Value batch = dim(alpha, 0);
    // A state only written back where it came from is updated in place
    // (each thread reads, then writes, its own elements): no copy of the
    // whole [B, k, d] state after every step.
    Value inPlace = inPlaceDestination(op.getState(), op.getNewState());
    Value state = inPlace ? inPlace : readBuffer(op.getState(), true);
    Value memory = inPlace ? inPlace : allocLike(op.getNewState(), batch);
    Value out = allocLike(op.getOutput(), batch);
    grid(batch, index(width), [&](Value seq, Value c) {
      Value v = load(value, {seq, c});
      Value acc =
          forLoop(index(0), index(slots), index(1), ValueRange{f32Const(0.0)},
                  [&](Value s, ValueRange acc) -> SmallVector<Value> {
                    Value updated =
                        fma(load(key, {seq, s}), v, load(state, {seq, s, c}));
                    store(updated, memory, {seq, s, c});
                    return {fma(load(alpha, {seq, s}), updated, acc[0])};
                  })[0];
      Value seen = b.create<arith::IndexCastOp>(
          b.getIndexType(), b.create<memref::LoadOp>(count, seq));
      store(fmul(acc, positionScale(add(seen, index(1)), rsqrt)), out,
            {seq, c});
    });
    finish(op, {out, inPlace ? Value() : memory});
    return success();
  }

  LogicalResult lowerOp(MemsizerSourceMemoryOp op) {
    bool rsqrt = op.getScale() == MemsizerScale::rsqrt;
    auto memoryType = op.getMemory().getType();
    int64_t slots = memoryType.getDimSize(0), width = memoryType.getDimSize(1);
    Value keys = readBuffer(op.getKeys(), true);
    Value values = readBuffer(op.getValues(), true);
    Value mask = readBuffer(op.getMask(), false);
    Value n = dim(keys, 0);
    Value memory = alloc(f32, {slots, width}, ValueRange{});
    grid(index(slots), index(width), [&](Value s, Value c) {
      // Kept rows only (a select, so padding values never reach the sum).
      auto kept = [&](Value i) -> Value {
        return mask ? b.create<memref::LoadOp>(mask, i).getResult() : Value();
      };
      Value total = sum(index(0), n, [&](Value i) -> Value {
        Value term = fmul(load(keys, {i, s}), load(values, {i, c}));
        return mask ? b.create<arith::SelectOp>(kept(i), term, f32Const(0.0))
                          .getResult()
                    : term;
      });
      Value count = mask ? sum(index(0), n,
                               [&](Value i) -> Value {
                                 return b.create<arith::SelectOp>(
                                     kept(i), f32Const(1.0), f32Const(0.0));
                               })
                         : toF32(n);
      Value scale = f32Const(1.0);
      if (rsqrt) {
        Value empty = b.create<arith::CmpFOp>(arith::CmpFPredicate::OEQ, count,
                                              f32Const(0.0));
        scale = b.create<arith::SelectOp>(empty, f32Const(0.0),
                                          reciprocalSqrt(count));
      }
      store(fmul(total, scale), memory, {s, c});
    });
    finish(op, {memory});
    return success();
  }

  LogicalResult lowerOp(MemsizerCrossOp op) {
    auto memoryType = cast<RankedTensorType>(op.getMemory().getType());
    bool perRowMemory = memoryType.getRank() == 3;
    int64_t slots = memoryType.getDimSize(perRowMemory ? 1 : 0);
    int64_t width = memoryType.getDimSize(perRowMemory ? 2 : 1);
    Value alpha = readBuffer(op.getAlpha(), true);
    Value memory = readBuffer(op.getMemory(), true);
    Value n = dim(alpha, 0);
    Value last = perRowMemory ? sub(dim(memory, 0), index(1)) : Value();
    Value out = allocLike(op.getOutput(), n);
    grid(n, index(width), [&](Value t, Value c) {
      Value which = perRowMemory ? b.create<arith::MinUIOp>(t, last) : Value();
      Value acc = sum(index(0), index(slots), [&](Value s) {
        Value m =
            perRowMemory ? load(memory, {which, s, c}) : load(memory, {s, c});
        return fmul(load(alpha, {t, s}), m);
      });
      store(acc, out, {t, c});
    });
    finish(op, {out});
    return success();
  }

  /// Ops lowered with an earlier one (sibling lookups), which the pass
  /// skips.
  DenseSet<Operation *> &lowered;
  Type f32;
  /// Tokens per thread of the Memory Layer's gather.
  int64_t tokenTile;
  /// Below this many threads of the token-tiled gather, the K tables are
  /// split across threads (0: never).
  int64_t splitTablesBelow;
  /// The most attention scores kept in scratch at once (0: none).
  int64_t attentionScores;
  /// Buffers start at 16-byte boundaries (device allocations do): vector
  /// accesses at multiples of 16 bytes into them are aligned.
  bool alignedOperands;
};

struct LowerGPUKernelsPass
    : mnemo::impl::LowerGPUKernelsPassBase<LowerGPUKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tokenTile < 0 || tokenTile > 64) {
      getOperation().emitError() << "token-tile must lie in [0, 64]";
      return signalPassFailure();
    }
    if (splitTablesBelow < 0 || attentionScores < 0) {
      getOperation().emitError()
          << "split-tables-below and attention-scores must not be negative";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (op->getDialect() && op->getDialect()->getNamespace() ==
                                  MnemoDialect::getDialectNamespace())
        ops.push_back(op);
    });
    // Ops lowered (and erased) with an earlier one: sibling lookups.
    DenseSet<Operation *> lowered;
    for (Operation *op : ops) {
      if (lowered.contains(op))
        continue;
      ImplicitLocOpBuilder b(op->getLoc(), op);
      KernelCodegen codegen(b, tokenTile, splitTablesBelow, attentionScores,
                            alignedOperands, lowered);
      if (failed(codegen.lower(op)))
        return signalPassFailure();
    }
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// -mnemo-merge-gpu-modules
//===----------------------------------------------------------------------===//

namespace mlir::mnemo {
#define GEN_PASS_DEF_MERGEGPUMODULESPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

namespace {

struct MergeGPUModulesPass
    : mnemo::impl::MergeGPUModulesPassBase<MergeGPUModulesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernels(module.getOps<gpu::GPUModuleOp>());
    if (kernels.empty())
      return;
    // Outlining names each module uniquely, its one kernel not always
    // (`f_kernel_0` holds `@f_kernel`): kernels take their module's name.
    for (gpu::GPUModuleOp kernelModule : kernels) {
      auto funcs = llvm::to_vector(kernelModule.getOps<gpu::GPUFuncOp>());
      if (funcs.size() != 1) {
        kernelModule.emitOpError()
            << "holds " << funcs.size() << " functions; outlining gives one";
        return signalPassFailure();
      }
      funcs.front().setName(kernelModule.getName());
    }
    gpu::GPUModuleOp into = kernels.front();
    for (gpu::GPUModuleOp from : llvm::drop_begin(kernels))
      for (Operation &op :
           llvm::make_early_inc_range(from.getBody()->getOperations()))
        if (!op.hasTrait<OpTrait::IsTerminator>())
          op.moveBefore(into.getBody()->getTerminator());
    // Launches name their kernel, by its old module's name, in the one
    // module left.
    into.setName(moduleName);
    module.walk([&](gpu::LaunchFuncOp launch) {
      launch.setKernelAttr(SymbolRefAttr::get(
          into.getNameAttr(),
          {FlatSymbolRefAttr::get(launch.getKernelModuleName())}));
    });
    for (gpu::GPUModuleOp from : llvm::drop_begin(kernels))
      from.erase();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// -mnemo-tile-gpu-loops
//===----------------------------------------------------------------------===//

namespace mlir::mnemo {
#define GEN_PASS_DEF_TILEGPULOOPSPASS
#include "mnemo/Conversion/Passes.h.inc"
} // namespace mlir::mnemo

namespace {

struct TileGPULoopsPass : mnemo::impl::TileGPULoopsPassBase<TileGPULoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (threadsPerBlock < 1 || threadsPerBlock > 1024) {
      getOperation().emitError() << "threads-per-block must lie in [1, 1024]";
      return signalPassFailure();
    }
    // Outermost parallel loops: blocks of `threadsPerBlock` iterations of
    // the innermost dimension (which the kernels keep the wide one).
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          loop.getNumReductions() == 0)
        loops.push_back(loop);
    });
    // The innermost dimension becomes the block's last: y for two
    // dimensions, but z (at most 64 threads) for three or more (copies of
    // 3-D buffers, such as Memsizer states written back). Those are
    // collapsed to two first: their outer dimensions into one.
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp &loop : loops) {
      unsigned rank = loop.getNumLoops();
      if (rank <= 2)
        continue;
      std::vector<unsigned> outer(rank - 1);
      std::iota(outer.begin(), outer.end(), 0u);
      std::vector<unsigned> inner = {rank - 1};
      Block *block = loop->getBlock();
      Operation *next = loop->getNextNode();
      rewriter.setInsertionPoint(loop);
      collapseParallelLoops(rewriter, loop, {outer, inner});
      // The collapsed loop replaces `loop` where it stood.
      loop = cast<scf::ParallelOp>(next ? next->getPrevNode() : &block->back());
    }
    for (scf::ParallelOp loop : loops) {
      SmallVector<int64_t> sizes(loop.getNumLoops(), 1);
      sizes.back() = threadsPerBlock;
      scf::tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
    }
  }
};

} // namespace
