//===- HoistWeightOps.cpp - Weight preparation at load time -----*- C++ -*-===//
//
// Layout changes of weights (packed tables, tables concatenated by lookup
// fusion) are computations on weights only: a model computes them once,
// when it is loaded, not on every call. This pass splits each function with
// `mnemo.weight` arguments into a preparation function that computes them
// and the function proper, which receives their results.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "mnemo-hoist-weight-ops"

namespace mlir::mnemo {
#define GEN_PASS_DEF_HOISTWEIGHTOPSPASS
#include "Mnemo/Transforms/Passes.h.inc"
} // namespace mlir::mnemo

using namespace mlir;

namespace {

constexpr StringLiteral kWeightAttr = "mnemo.weight";

/// How an op of the entry block relates to the weights.
enum class Kind {
  Activation, ///< depends on a non-weight value or has side effects
  Neutral,    ///< pure, depends on constants only (constants, tensor.empty)
  Weight,     ///< pure, depends on weights (and constants)
};

struct Hoister {
  Hoister(func::FuncOp func, SymbolTable &symbols)
      : func(func), symbols(symbols) {}

  func::FuncOp func;
  SymbolTable &symbols;
  DenseMap<Operation *, Kind> kinds;
  DenseSet<Value> weightValues;

  Kind classify(Operation &op) {
    if (!isMemoryEffectFree(&op))
      return Kind::Activation;
    bool anyWeight = false;
    auto visit = [&](Value v) {
      if (weightValues.contains(v)) {
        anyWeight = true;
        return true;
      }
      Operation *def = v.getDefiningOp();
      return def && kinds.lookup(def) == Kind::Neutral;
    };
    for (Value operand : op.getOperands())
      if (!visit(operand))
        return Kind::Activation;
    // Values that the op's regions capture count as operands.
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegions(), captured);
    for (Value v : captured)
      if (!visit(v))
        return Kind::Activation;
    return anyWeight ? Kind::Weight : Kind::Neutral;
  }

  LogicalResult run() {
    Block &entry = func.front();
    SmallVector<BlockArgument> weights;
    for (BlockArgument arg : entry.getArguments())
      if (func.getArgAttr(arg.getArgNumber(), kWeightAttr)) {
        weights.push_back(arg);
        weightValues.insert(arg);
      }
    if (weights.empty())
      return success();

    SmallVector<Operation *> hoisted;
    for (Operation &op : entry.without_terminator()) {
      Kind kind = classify(op);
      kinds[&op] = kind;
      if (kind != Kind::Weight)
        continue;
      hoisted.push_back(&op);
      weightValues.insert(op.result_begin(), op.result_end());
    }

    // The values that stay needed: results of hoisted ops used by the rest.
    auto isHoisted = [&](Operation *user) -> bool {
      Operation *ancestor = entry.findAncestorOpInBlock(*user);
      return ancestor && kinds.lookup(ancestor) == Kind::Weight;
    };
    SetVector<Value> needed;
    for (Operation *op : hoisted)
      for (Value result : op->getResults())
        for (Operation *user : result.getUsers())
          if (!isHoisted(user))
            needed.insert(result);
    if (needed.empty())
      return success();

    // @<name>__prepare_weights(weights...) -> (needed...)
    MLIRContext *ctx = func.getContext();
    OpBuilder builder(func);
    builder.setInsertionPointAfter(func);
    SmallVector<Type> weightTypes, neededTypes;
    for (BlockArgument arg : weights)
      weightTypes.push_back(arg.getType());
    for (Value v : needed)
      neededTypes.push_back(v.getType());
    auto prepare = builder.create<func::FuncOp>(
        func.getLoc(), (func.getName() + "__prepare_weights").str(),
        FunctionType::get(ctx, weightTypes, neededTypes));
    symbols.insert(prepare);
    for (NamedAttribute attr : func->getDiscardableAttrs())
      if (attr.getName() == "llvm.emit_c_interface")
        prepare->setAttr(attr.getName(), attr.getValue());
    Block *body = prepare.addEntryBlock();
    IRMapping mapping;
    for (auto [arg, newArg] : llvm::zip(weights, body->getArguments()))
      mapping.map(arg, newArg);
    OpBuilder bodyBuilder = OpBuilder::atBlockEnd(body);
    // Clone the hoisted ops in order, with the neutral ops they use.
    std::function<void(Operation *)> cloneWithDeps = [&](Operation *op) {
      auto cloneDef = [&](Value v) {
        Operation *def = v.getDefiningOp();
        if (def && kinds.lookup(def) == Kind::Neutral && !mapping.contains(v))
          cloneWithDeps(def);
      };
      for (Value operand : op->getOperands())
        cloneDef(operand);
      SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      for (Value v : captured)
        cloneDef(v);
      bodyBuilder.clone(*op, mapping);
    };
    for (Operation *op : hoisted)
      cloneWithDeps(op);
    SmallVector<Value> results;
    for (Value v : needed)
      results.push_back(mapping.lookup(v));
    bodyBuilder.create<func::ReturnOp>(func.getLoc(), results);

    // The function proper takes the prepared values as extra arguments.
    auto weightAttrs = DictionaryAttr::get(
        ctx, {NamedAttribute(StringAttr::get(ctx, kWeightAttr),
                             UnitAttr::get(ctx))});
    for (Value v : needed) {
      unsigned index = func.getNumArguments();
      func.insertArgument(index, v.getType(), weightAttrs, v.getLoc());
      v.replaceUsesWithIf(func.getArgument(index), [&](OpOperand &use) {
        return !isHoisted(use.getOwner());
      });
    }
    for (Operation *op : llvm::reverse(hoisted)) {
      assert(op->use_empty() && "hoisted op still used in place");
      op->erase();
    }
    // Neutral ops (constants, empty tensors) that only fed hoisted ops are
    // now dead here; erasing one can make another dead.
    for (bool erased = true; erased;) {
      erased = false;
      for (Operation &op : llvm::make_early_inc_range(entry)) {
        if (kinds.lookup(&op) == Kind::Neutral && op.use_empty()) {
          op.erase();
          erased = true;
        }
      }
    }
    func->setAttr(mnemo::kPrepareWeightsAttrName,
                  FlatSymbolRefAttr::get(prepare));
    LLVM_DEBUG(llvm::dbgs() << "hoisted " << hoisted.size() << " ops out of @"
                            << func.getName() << "\n");
    return success();
  }
};

struct HoistWeightOpsPass
    : mnemo::impl::HoistWeightOpsPassBase<HoistWeightOpsPass> {
  using Base::Base;

  void runOnOperation() override {
    SymbolTable symbols(getOperation());
    SmallVector<func::FuncOp> funcs(getOperation().getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal() || func->hasAttr(mnemo::kPrepareWeightsAttrName))
        continue;
      Hoister hoister(func, symbols);
      if (failed(hoister.run()))
        return signalPassFailure();
    }
  }
};

} // namespace

func::FuncOp mlir::mnemo::lookupPrepareWeights(func::FuncOp func) {
  auto prepare =
      func->getAttrOfType<FlatSymbolRefAttr>(mnemo::kPrepareWeightsAttrName);
  return prepare
             ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(func, prepare)
             : func::FuncOp();
}
