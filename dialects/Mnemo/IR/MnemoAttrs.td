//===- MnemoAttrs.td - mnemo enum attributes ---------------*- tablegen -*-===//
//
// Enumerated attributes of the mnemo dialect.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_ATTRS_TD
#define MNEMO_ATTRS_TD

include "Mnemo/IR/MnemoDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Weighting
//===----------------------------------------------------------------------===//

def Mnemo_WeightingProb : I32EnumAttrCase<"prob", 0>;
def Mnemo_WeightingL1Prob : I32EnumAttrCase<"l1_prob", 1>;

def Mnemo_Weighting : I32EnumAttr<"Weighting",
    "how a Memory Layer weighs the row it retrieves from each table",
    [Mnemo_WeightingProb, Mnemo_WeightingL1Prob]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mnemo";
}

def Mnemo_WeightingAttr : EnumAttr<Mnemo_Dialect, Mnemo_Weighting,
                                   "weighting"> {
  let summary = "Memory Layer row weighting";
  let description = [{
    * `prob` (MemoryFormer paper, Eq. 11): the probability that the chunk
      `z` hashes to its bucket, `prod_j 1 / (1 + exp(-2 |z_j| / t))`, with
      temperature `t`.
    * `l1_prob` (the authors' released code): the same product at `t = 1`,
      multiplied by the chunk's L1 norm `sum_j |z_j|`.
  }];
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Memsizer scaling
//===----------------------------------------------------------------------===//

def Mnemo_MemsizerScaleRsqrt : I32EnumAttrCase<"rsqrt", 0>;
def Mnemo_MemsizerScaleNone : I32EnumAttrCase<"none", 1>;

def Mnemo_MemsizerScale : I32EnumAttr<"MemsizerScale",
    "how Memsizer normalizes a memory by the number of tokens it holds",
    [Mnemo_MemsizerScaleRsqrt, Mnemo_MemsizerScaleNone]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mnemo";
}

def Mnemo_MemsizerScaleAttr : EnumAttr<Mnemo_Dialect, Mnemo_MemsizerScale,
                                       "scale"> {
  let summary = "Memsizer memory normalization";
  let description = [{
    * `rsqrt`: a memory holding `n` tokens is read out scaled by
      `1 / sqrt(n)` (Memsizer: `n = t` for causal self-attention, the number
      of non-pad source tokens for cross-attention).
    * `none`: the memory is read out unscaled.
  }];
  let assemblyFormat = "`<` $value `>`";
}

#endif // MNEMO_ATTRS_TD
