//===- Passes.td - mnemo transformation passes -------------*- tablegen -*-===//
//
// Passes that transform mnemo IR before it is lowered. Lowering passes live
// with their conversions under lib/Conversion.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_TRANSFORMS_PASSES_TD
#define MNEMO_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseSiblingLookupsPass : Pass<"mnemo-fuse-lookups"> {
  let summary = "Fuse sibling Memory Layers that hash the same input";
  let description = [{
    Memory Layers that read the same input with the same table geometry
    (`K` tables of `2^tau` rows), the same table element type and the same
    weighting compute the same buckets and weights: MemoryFormer's Q, K and
    V projections are the typical case. This pass replaces each such group
    by one `mnemo.hash_lookup` over the tables concatenated along the output
    width `h`, followed by one `tensor.extract_slice` per original result,
    so that the input is hashed once and the rows of all tables are gathered
    in one pass. Missing biases become zeros when any member has a bias.

    Example:

    ```mlir
    %q = mnemo.hash_lookup %x, %tq weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
    %k = mnemo.hash_lookup %x, %tk weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
    ```

    becomes

    ```mlir
    %t = tensor.concat dim(2) %tq, %tk : (tensor<2x256x32xf32>, tensor<2x256x32xf32>) -> tensor<2x256x64xf32>
    %qk = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x64xf32>) -> tensor<?x64xf32>
    %q = tensor.extract_slice %qk[0, 0] [%n, 32] [1, 1] : tensor<?x64xf32> to tensor<?x32xf32>
    %k = tensor.extract_slice %qk[0, 32] [%n, 32] [1, 1] : tensor<?x64xf32> to tensor<?x32xf32>
    ```

    The concatenation depends only on weights, so a compiler driver can
    compute it once when a model is loaded rather than on every call.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // MNEMO_TRANSFORMS_PASSES_TD
