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

//===----------------------------------------------------------------------===//
// Normalization fused into a Memory Layer
//===----------------------------------------------------------------------===//

def Mnemo_NormRms : I32EnumAttrCase<"rms_norm", 0>;
def Mnemo_NormLayer : I32EnumAttrCase<"layer_norm", 1>;

def Mnemo_NormKind : I32EnumAttr<"NormKind",
    "a row normalization folded into the input of a Memory Layer",
    [Mnemo_NormRms, Mnemo_NormLayer]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mnemo";
}

def Mnemo_NormKindAttr : EnumAttr<Mnemo_Dialect, Mnemo_NormKind, "norm"> {
  let summary = "normalization of a Memory Layer's input";
  let assemblyFormat = "$value";
}

//===----------------------------------------------------------------------===//
// Memory Layer tiling
//===----------------------------------------------------------------------===//

def Mnemo_LookupParallelTokens : I32EnumAttrCase<"tokens", 0>;
def Mnemo_LookupParallelColumns : I32EnumAttrCase<"columns", 1>;

def Mnemo_LookupParallel : I32EnumAttr<"LookupParallel",
    "the loop of a Memory Layer that is spread across threads",
    [Mnemo_LookupParallelTokens, Mnemo_LookupParallelColumns]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::mnemo";
}

def Mnemo_LookupTilingAttr : AttrDef<Mnemo_Dialect, "LookupTiling"> {
  let mnemonic = "lookup_tiling";
  let summary = "how a Memory Layer is tiled for the cache hierarchy";
  let description = [{
    Chosen by `-mnemo-tile-lookups` and consumed by the CPU lowering:

    * `tokens`: tokens per tile (the rows whose buckets and weights are
      computed together and whose accumulators stay in cache); 0 means all
      tokens of the thread in one tile.
    * `columns`: output columns per tile, the width of one table slice
      `[2^tau, columns]`; tables are packed to `[h / columns, K, 2^tau,
      columns]` so that a slice is contiguous.
    * `tables`: tables accumulated per pass over the token tile.
    * `prefetch`: how many passes ahead table slices are prefetched into L2
      (0: none).
    * `parallel`: the loop spread across threads: token tiles, or column
      tiles (for few tokens, as when decoding).
  }];
  let parameters = (ins
    "int64_t":$tokens,
    "int64_t":$columns,
    "int64_t":$tables,
    "int64_t":$prefetch,
    EnumParameter<Mnemo_LookupParallel>:$parallel
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // MNEMO_ATTRS_TD
