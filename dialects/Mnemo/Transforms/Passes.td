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

def FoldNormsPass : Pass<"mnemo-fold-norms"> {
  let summary = "Fold row normalizations into the Memory Layers they feed";
  let description = [{
    A `mnemo.rms_norm` or `mnemo.layer_norm` whose every use is the input of
    a `mnemo.hash_lookup` is folded into those lookups: each one then hashes
    the normalized row, computed on the fly in its hashing loop, and the
    normalized tensor is never written to memory. In MemoryFormer every norm
    feeds Memory Layers only (`RMSNorm_in` -> Q/K/V, `RMSNorm_post` -> ML1,
    `LayerNorm_mid` -> ML2). Run it after `-mnemo-fuse-lookups`, so that a
    norm feeding Q, K and V is computed once, by the fused lookup.

    ```mlir
    %u = mnemo.rms_norm %x, %g eps 9.99999993E-9 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %y = mnemo.hash_lookup %u, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
    ```

    becomes

    ```mlir
    %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 9.99999993E-9, %t weighting<l1_prob>
        : (tensor<?x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
    ```
  }];
}

def TileLookupsPass : Pass<"mnemo-tile-lookups"> {
  let summary = "Choose the cache tiling of each Memory Layer";
  let description = [{
    Attaches a `#mnemo.lookup_tiling` to every `mnemo.hash_lookup`, chosen
    from its configuration (`K`, `tau`, `h`, table element type, token count
    when static) and the target's cache sizes and thread count:

    * few tokens (a static count of at most `2^tau / 2`, i.e. decoding):
      rows are rarely read twice in a call, so every row comes from DRAM.
      `columns` is the widest tile (at most as many vectors as the register
      file holds accumulators for) that still gives every thread a column
      tile, all `K` tables go in one pass with the accumulators in
      registers, the column tiles are spread over the threads, and nothing
      is prefetched;
    * many tokens: `columns` is the narrowest tile whose row segment fills a
      64-byte cache line, and the slices of the next pass are prefetched
      while the current one is gathered. `tokens` keeps the accumulator
      tile within a quarter of L2 (at most 4096 tokens) when the column
      tiles are spread over the threads, or the accumulators plus the
      tile's buckets and weights within half of L2 when the token tiles
      are. `tables` is the most of 8, 4, 2, 1 (or `K`) whose slices for
      two passes (gathered and prefetched), beside the accumulator tile
      and the pass's buckets and weights, fit 5/8 of L2;
    * `parallel`: column tiles when there are at least as many as threads,
      token tiles otherwise.

    The numbers behind these choices are in `docs/benchmarks.md`.
    Every choice can be forced with an option; 0 (or `auto`) lets the pass
    decide. The CPU lowering (`-mnemo-lower-lookups`) generates the loops
    that the attribute describes, and `-mnemo-pack-tables` lays the tables
    out to match.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"1",
           "threads the token or column loop is spread over">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector register (8: AVX2, 16: AVX-512)">,
    Option<"l1CacheBytes", "l1-cache-bytes", "int64_t", /*default=*/"32768",
           "L1 data cache per core">,
    Option<"l2CacheBytes", "l2-cache-bytes", "int64_t", /*default=*/"524288",
           "L2 cache per core">,
    Option<"tokenTile", "token-tile", "int64_t", /*default=*/"0",
           "tokens per tile (0: choose)">,
    Option<"columnTile", "column-tile", "int64_t", /*default=*/"0",
           "output columns per tile (0: choose)">,
    Option<"tablesPerPass", "tables-per-pass", "int64_t", /*default=*/"0",
           "tables accumulated per pass over a token tile (0: choose)">,
    Option<"prefetch", "prefetch", "int64_t", /*default=*/"-1",
           "prefetch distance in passes (-1: choose, 0: none)">,
    Option<"parallel", "parallel", "std::string", /*default=*/"\"auto\"",
           "parallel loop: auto, tokens or columns">,
  ];
}

def PackTablesPass : Pass<"mnemo-pack-tables"> {
  let summary = "Lay Memory Layer tables out in column tiles";
  let description = [{
    Rewrites the `[K, 2^tau, h]` tables of every tiled `mnemo.hash_lookup`
    whose column tile `C` is narrower than `h` to the packed layout
    `[h / C, K, 2^tau, C]` (a `tensor.expand_shape` and a `linalg.transpose`),
    so that the slice of one table that a column tile reads is contiguous:
    rows of `C` values, not rows of `h` values read `C` at a time, which
    would map every row of a slice to the same few cache sets. The packing
    depends only on the tables; `-mnemo-hoist-weight-ops` moves it out of
    the per-call function.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def HoistWeightOpsPass : Pass<"mnemo-hoist-weight-ops", "::mlir::ModuleOp"> {
  let summary = "Move computations on weights into a load-time function";
  let description = [{
    In every function with arguments marked `mnemo.weight`, the operations
    that depend only on weights and constants (table packing, the
    concatenation of fused tables) are moved into a new function
    `@<name>__prepare_weights`, which takes the weight arguments in order and
    returns the values the original function needs. The original function
    receives those values as extra arguments, appended and marked
    `mnemo.weight`, and is tagged `mnemo.prepare_weights = @<name>__prepare_weights`.
    A runtime calls the preparation once when it loads a model and passes
    its results on every call.
  }];
}

#endif // MNEMO_TRANSFORMS_PASSES_TD
