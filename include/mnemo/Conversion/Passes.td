//===- Passes.td - Lowerings of mnemo ops ------------------*- tablegen -*-===//
//
// Conversions of mnemo ops to upstream dialects. The CPU code generation of
// the Memory Layer lives here: it reads the tiling that -mnemo-tile-lookups
// chose and emits the loop nest with vector ops.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_CONVERSION_PASSES_TD
#define MNEMO_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerLookupsPass : Pass<"mnemo-lower-lookups", "::mlir::func::FuncOp"> {
  let summary = "Generate tiled vector loops for mnemo.hash_lookup (CPU)";
  let description = [{
    Replaces every `mnemo.hash_lookup` by the loop nest that computes it on
    buffers, specialized for the op's table geometry (`K`, `tau`, `h`),
    table element type, weighting, fused normalization and tiling
    (`#mnemo.lookup_tiling`, defaults when absent):

    * a hashing loop over the tokens of a tile that computes, per table, the
      bucket (the sign bits of the `tau` values, element 0 most significant)
      and the weight with vector ops on `vector<tau x f32>` chunks, after
      applying a fused RMSNorm or LayerNorm to the row on the fly;
    * a gather loop over column tiles and groups of `tables` tables that
      accumulates `w * row` with `vector<V x f32>` FMAs into a tile of
      accumulators that stays in L1, widening f16 and bf16 rows to f32, and
      prefetches the table slices (or, for few tokens, the rows) it will
      read next;
    * an `scf.parallel` over token tiles or column tiles, for OpenMP.

    Operands are taken as buffers with `bufferization.to_memref` and the
    result is returned with `bufferization.to_tensor`, so the pass runs
    before one-shot bufferization of the rest of the function.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector register (8: AVX2, 16: AVX-512)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def LowerLinearPass : Pass<"mnemo-lower-linear", "::mlir::func::FuncOp"> {
  let summary = "Generate vector loops for mnemo.linear with f16/bf16 weights (CPU)";
  let description = [{
    Replaces every `mnemo.linear` whose weight is stored in f16 or bf16 (a
    model's LM head; BLAS has no such product) by loops on buffers: for
    each tile of tokens whose inputs fit in half of L2, `scf.parallel` over
    blocks of 4 output rows, and for each group of tokens (4 with 16 lanes,
    2 with fewer; then single tokens) the rows' dot products with the
    tokens in `vector<V x f32>` FMAs, each weight vector widened once per
    group, reduced across lanes at the end of the row. A block's rows stay
    in L1 across a tile's tokens, so the weight is read once per tile, in
    its stored width: a decoding step streams half the bytes of the widened
    f32 weight. `mnemo.linear` with f32 weights is left to
    `-mnemo-lower-to-runtime` (BLAS). Runs before one-shot bufferization.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector register (8: AVX2, 16: AVX-512)">,
    Option<"l2CacheBytes", "l2-cache-bytes", "int64_t", /*default=*/"524288",
           "L2 cache per core (a tile's inputs take half)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def LowerMemsizerPass : Pass<"mnemo-lower-memsizer", "::mlir::func::FuncOp"> {
  let summary = "Generate vector loops for Memsizer's attention ops (CPU)";
  let description = [{
    Replaces `mnemo.memsizer_alpha`, `mnemo.memsizer_prefill`,
    `mnemo.memsizer_step`, `mnemo.memsizer_source_memory` and
    `mnemo.memsizer_cross` by loops on buffers with `vector<V x f32>` FMAs,
    specialized for the memory's `[k, d]` shape:

    * every op runs over column tiles of the `d` memory columns (a few
      vectors wide, kept in registers), spread over threads with
      `scf.parallel`, since Memsizer's memory is independent per column;
    * `memsizer_prefill` is chunked: per chunk of `chunk` tokens, each
      token's output is `alpha^T S_prev` plus the chunk's causal triangle
      of scores `alpha_t . key_i / sqrt(t)` (computed once for all column
      tiles), and the chunk then updates `S` with `keys^T values` -- O(T k d)
      time and one `[k, d]` memory, whatever the sequence length;
    * `memsizer_step` fuses the rank-1 update and the read-out in one pass
      over each sequence's `[k, d]` state.

    A state read with `bufferization.to_tensor %m restrict` whose new value
    is only materialized back into `%m` is updated in place. Runs before
    one-shot bufferization, like `-mnemo-lower-lookups`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes per vector register (8: AVX2, 16: AVX-512)">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "tokens per prefill chunk (0: choose from k)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def LowerGPUKernelsPass : Pass<"mnemo-lower-gpu-kernels",
                               "::mlir::func::FuncOp"> {
  let summary = "Lower mnemo ops to loop nests of GPU threads";
  let description = [{
    Replaces every mnemo op by `scf.parallel` loops on buffers in which one
    iteration is the work of one GPU thread: scalar code without
    allocations, over a 1-D or 2-D index space whose innermost dimension is
    the wide one (output columns, or rows for per-row work), so that
    `-mnemo-tile-gpu-loops` and `-convert-parallel-loops-to-gpu` make it a
    grid of blocks. The Memory Layer hashes each (table, token) into a
    scratch bucket and weight, then each thread gathers the K weighted rows
    of a column group (one 16-byte vector of a row where `h` allows it) for
    a tile of `token-tile` tokens, accumulators in registers (with few
    tokens, below `split-tables-below` threads, one token per thread and
    the tables split in chunks across threads, summed by a second kernel);
    norms compute each row's statistics, then each element; attention
    computes its scores one thread each into a scratch of `attention-scores`
    floats, queries in chunks of as many as fit, then one thread per output; Memsizer's prefill walks the tokens
    in order in one thread per memory column. Operands come from
    `bufferization.to_memref` and results go back with
    `bufferization.to_tensor`, so the pass runs before one-shot
    bufferization. The same loops run on the CPU (`gpu-kernels` option of
    the CPU pipelines), which is how the suite checks them without a GPU.
    Lookups must not carry a folded norm or packed tables.
  }];
  let options = [
    Option<"tokenTile", "token-tile", "int64_t", /*default=*/"0",
           "tokens per thread of the Memory Layer's gather and rows per "
           "thread of linear (0: 2 for the gather, 8 for linear)">,
    Option<"splitTablesBelow", "split-tables-below", "int64_t",
           /*default=*/"4096",
           "below this many threads of the gather (token tiles x column "
           "groups, at run time), split the K tables across threads in "
           "chunks and add the chunks in a second kernel, so that a few "
           "tokens still fill a GPU (0: never)">,
    Option<"attentionScores", "attention-scores", "int64_t",
           /*default=*/"16777216",
           "the most attention scores (f32) kept in scratch at once: "
           "attention runs one thread per score, the queries in chunks of as "
           "many as fit (at least one); 0: one thread per (head, query) "
           "instead">,
    Option<"alignedOperands", "aligned-operands", "bool",
           /*default=*/"false",
           "buffers start at 16-byte boundaries (device allocations do), so "
           "that vector loads of rows are 16-byte loads">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def TileGPULoopsPass : Pass<"mnemo-tile-gpu-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile outermost parallel loops into blocks of GPU threads";
  let description = [{
    Tiles every outermost `scf.parallel` (without reductions) by 1 along
    each dimension but the innermost, which it tiles by
    `threads-per-block`; the tile loop becomes the grid and the point loop
    the block's threads (`-gpu-map-parallel-loops`), out-of-range threads
    guarded by `scf.if`. Unlike `-scf-parallel-loop-tiling`, a loop of one
    dimension (per-row kernels) gets full blocks too.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"128", "threads of a block">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeGPUModulesPass : Pass<"mnemo-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Gather every outlined GPU kernel into one gpu.module";
  let description = [{
    `-gpu-kernel-outlining` puts each kernel in a `gpu.module` of its own;
    this pass moves them all into one (named by `module-name`) and points
    every `gpu.launch_func` at it, so that a model's kernels are one PTX
    module: one file to assemble, one module for the driver to load.
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string", /*default=*/"\"mnemo_kernels\"",
           "name of the merged module">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def DeviceBuffersPass : Pass<"mnemo-device-buffers", "::mlir::ModuleOp"> {
  let summary = "Make host functions' buffers device allocations";
  let description = [{
    On a module of host functions that launch GPU kernels
    (`gpu.container_module`), turns every `memref.alloc` and
    `memref.dealloc` of the host functions into `gpu.alloc` and
    `gpu.dealloc`: intermediate buffers live in device memory, like the
    arguments, which the caller passes as device buffers. Host code may
    then only launch kernels and read buffer shapes: an operation that reads
    or writes a buffer's contents on the host (a loop left unmapped, a
    load of a scalar) is an error naming it, since it would dereference a
    device address. Run `-gpu-async-region` afterwards to queue the
    allocations and launches of each function on one stream.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def PoolDeviceBuffersPass : Pass<"mnemo-pool-device-buffers",
                                  "::mlir::func::FuncOp"> {
  let summary = "One device allocation per host function call";
  let description = [{
    After `-mnemo-device-buffers`, a host function allocates every
    intermediate buffer (`gpu.alloc`) and frees it (`gpu.dealloc`): about
    30 of each per layer of a decoding step, at 1 to 2 us of host time
    apiece in the driver. This pass carves the buffers allocated in the
    function's body (not in a loop or branch), whose sizes are known where
    the first of them is allocated, out of one allocation there: each
    becomes a `memref.view` at an offset rounded up to 256 bytes (the
    alignment of device allocations, which `aligned-operands` relies on),
    their deallocations are dropped, and the whole is freed before the
    function returns. The buffers all live for the whole call, so a call
    holds the sum of their sizes rather than the most alive at once.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def ElideHostWaitsPass : Pass<"mnemo-elide-host-waits",
                               "::mlir::func::FuncOp"> {
  let summary = "Drop the host waits between a host function's GPU work";
  let description = [{
    After `-gpu-async-region`, a host function waits on the host (a
    `gpu.wait` without a result, which becomes `mgpuStreamSynchronize`)
    wherever its chain of async tokens meets structured control flow: before
    a loop that launches kernels (attention's chunks of queries) and at the
    end of each of its iterations. Mnemo's runtime queues every GPU operation
    of a host thread on one stream, in program order (`mgpuStreamCreate`
    returns the thread's stream), and host code never reads device memory
    (`-mnemo-device-buffers`), so those waits order nothing: they only stop
    the host from queuing the next kernels while the GPU drains the stream.
    This pass erases every such wait but the ones just before a `return`,
    after which the function's results are ready for its caller and errors
    of its kernels are reported by the call that caused them.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def LowerNormsPass : Pass<"mnemo-lower-norms"> {
  let summary = "Lower mnemo.rms_norm and mnemo.layer_norm to linalg";
  let description = [{
    Normalizations that could not be folded into a Memory Layer become
    `linalg.generic` reductions over each row followed by an elementwise
    `linalg.generic`, which the upstream pipeline bufferizes and vectorizes.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ReadOnlyArgumentsPass : Pass<"mnemo-read-only-arguments",
                                  "::mlir::ModuleOp"> {
  let summary = "Mark functions' tensor arguments read-only for bufferization";
  let description = [{
    Sets `bufferization.writable = false` on every tensor argument of every
    function with a body that does not say otherwise. A compiled function's
    arguments are its caller's buffers: inputs, never scratch. Without this,
    one-shot bufferization may compute a result in place in an argument's
    buffer (clobbering the caller's input) and return that argument, which
    MLIR 19's `-buffer-results-to-out-params` crashes on.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def ForwardResultAllocsPass : Pass<"mnemo-forward-result-allocs",
                                   "::mlir::func::FuncOp"> {
  let summary = "Write results directly into out-parameter buffers";
  let description = [{
    After `-buffer-results-to-out-params`, a function that allocated its
    result copies it into the caller's buffer before returning. When the
    allocation is not used after that copy, this pass replaces it by the
    out-parameter and deletes the copy, so that a kernel with a dynamically
    shaped result writes it in place (the upstream `hoist-static-allocs`
    option covers static shapes only).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def LowerWeightPreparationPass : Pass<"mnemo-lower-weight-preparation",
                                      "::mlir::ModuleOp"> {
  let summary = "Weight preparation as loops whose outermost loop is parallel";
  let description = [{
    In every function that another names in `mnemo.prepare_weights` (made
    by `-mnemo-hoist-weight-ops`, run once when a model is loaded), linalg
    ops on buffers whose first loop is parallel (packing tables, copying
    fused tables into place) become `scf.for` nests whose outermost loop is
    an `scf.parallel`, so that the threads share the copy and, above all,
    the first touch of the freshly allocated prepared buffers: most of a
    model's load time is the kernel zeroing their pages. Ops of fewer than
    `min-elements` iterations (biases) are left to `-convert-linalg-to-loops`.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"65536",
           "fewest iterations of an op worth a parallel loop">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def LowerToRuntimePass : Pass<"mnemo-lower-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Lower library-backed mnemo ops to calls into Mnemo's runtime";
  let description = [{
    `mnemo.linear`, `mnemo.causal_attention`, `mnemo.attention`,
    `mnemo.rotary` and `mnemo.embedding` become calls of the kernels declared
    in
    `include/mnemo/Runtime/Kernels.h` (`@mnemo_linear` and so on, private
    declarations with `llvm.emit_c_interface`), on buffers obtained with
    read-only `bufferization.to_memref` of a fully dynamic strided layout,
    with results in fresh allocations. Dense products run in the BLAS
    library, the same one Mnemo's speed is measured against. Runs before
    one-shot bufferization, like `-mnemo-lower-lookups`.

    ```mlir
    %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x64xf32>
    ```

    becomes

    ```mlir
    %x_buf = bufferization.to_memref %x read_only : memref<?x16xf32, strided<[?, ?], offset: ?>>
    ...
    %y_buf = memref.alloc(%n) {alignment = 64 : i64} : memref<?x64xf32>
    call @mnemo_linear(%x_dyn, %w_dyn, %b_dyn, %y_dyn) : (...) -> ()
    %y = bufferization.to_tensor %y_buf restrict writable : memref<?x64xf32>
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def DeallocateBuffersPass : Pass<"mnemo-deallocate-buffers",
                                 "::mlir::func::FuncOp"> {
  let summary = "Free a function's intermediate buffers when it returns";
  let description = [{
    One-shot bufferization allocates the intermediate results of a function
    (a layer's normalized input, its attention output, a fused lookup's
    output before it is sliced) and frees none of them. After
    `-buffer-results-to-out-params`, Mnemo's functions return nothing and
    their bodies are straight-line code around loops, so every allocation at
    the function's top level that does not escape (returned, or stored as a
    value) and is not freed already is freed right before the function
    returns. Allocations inside loops are the loops' own scratch, which the
    code that creates them frees.

    Upstream's `-ownership-based-buffer-deallocation` handles arbitrary
    control flow, but rejects operations without declared memory effects,
    such as the `memref.prefetch` that Memory Layer kernels issue.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def ApproximateMathPass : Pass<"mnemo-approximate-math"> {
  let summary = "Replace math functions by vectorizable polynomials";
  let description = [{
    Applies the upstream polynomial approximations of `math.exp`,
    `math.erf`, `math.tanh`, `math.log` and friends, so that the hashing
    loop's exponentials stay in vector registers instead of becoming calls
    to the scalar C library. The approximations are accurate to a few ulp,
    far inside the 1e-5 that Mnemo's kernels are tested to.
  }];
  let options = [
    Option<"enableAvx2", "enable-avx2", "bool", /*default=*/"false",
           "use AVX2 intrinsics where an approximation has them">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def DecomposeConcatPass : Pass<"mnemo-decompose-concat"> {
  let summary = "Lower tensor.concat to insert_slice for bufferization";
  let description = [{
    `tensor.concat` (produced by lookup fusion) has no bufferization in
    MLIR 19; this pass rewrites it to `tensor.empty` and one
    `tensor.insert_slice` per operand, which bufferize to copies into one
    buffer.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

#endif // MNEMO_CONVERSION_PASSES_TD
