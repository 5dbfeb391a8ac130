//===- MnemoOps.td - mnemo operations ----------------------*- tablegen -*-===//
//
// The operations of the mnemo dialect. Each op's exact semantics are those of
// SPEC.md; `lib/Reference` implements them plainly and is the oracle that the
// generated code is tested against.
//
// Conventions: rows are tokens, activations are f32, large weights (tables,
// embeddings) may be stored in f32, f16 or bf16 and are always accumulated in
// f32. Dimensions that kernels specialize on must be static; the token
// dimension may be dynamic.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_OPS_TD
#define MNEMO_OPS_TD

include "Mnemo/IR/MnemoDialect.td"
include "Mnemo/IR/MnemoAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

/// Activations: f32 tensors of a fixed rank.
def Mnemo_Activation1D : 1DTensorOf<[F32]>;
def Mnemo_Activation2D : 2DTensorOf<[F32]>;
def Mnemo_Activation3D : 3DTensorOf<[F32]>;

/// Stored weights that are large enough for their storage type to matter.
def Mnemo_WeightElement : AnyTypeOf<[F32, F16, BF16]>;
def Mnemo_Weight2D : 2DTensorOf<[F32, F16, BF16]>;
def Mnemo_Weight3D : 3DTensorOf<[F32, F16, BF16]>;

/// Token ids and positions.
def Mnemo_I64Vector : 1DTensorOf<[I64]>;
def Mnemo_MaskVector : 1DTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// MemoryFormer
//===----------------------------------------------------------------------===//

def Mnemo_TableTensor : TensorRankOf<[F32, F16, BF16], [3, 4]>;

def Mnemo_HashLookupOp
    : Mnemo_Op<"hash_lookup", [Pure, AttrSizedOperandSegments]> {
  let summary = "MemoryFormer Memory Layer: sign-hash table lookup";
  let description = [{
    One Memory Layer (SPEC §1), the replacement of a fully-connected layer
    `d -> h` by `K` hash tables of `2^tau` rows each, with `d == K * tau`.
    `K` (`numTables`) and `tau` (`bitsPerTable`) come from the type of
    `tables`, which is `[K, 2^tau, h]`.

    For every token `x` (a row of `input`) and every table `k`:

    * the chunk `z = x[k*tau : (k+1)*tau]` selects the bucket
      `idx = sum_j [z_j >= 0] * 2^(tau-1-j)`: element 0 is the most
      significant bit, and `0.0` and `-0.0` count as 1 bits;
    * the row is weighted by `w = prod_j 1 / (1 + exp(-2 |z_j| / t))` for
      `weighting<prob>` (temperature `t`), or by
      `w = (sum_j |z_j|) * prod_j 1 / (1 + exp(-2 |z_j|))` for
      `weighting<l1_prob>`, which has no temperature;
    * the output row is `y = sum_k w_k * tables[k, idx_k, :] + bias`.

    Accumulation is f32 whatever the element type of `tables`.

    Example:

    ```mlir
    %y = mnemo.hash_lookup %x, %tables bias %b weighting<prob> temperature 5.000000e-01
        : (tensor<?x512xf32>, tensor<64x256x512xf16>, tensor<512xf32>) -> tensor<?x512xf32>
    ```

    Two forms produced by compiler passes extend the op:

    * A row normalization folded into the input (`-mnemo-fold-norms`): with
      `normalized by rms_norm(%g) eps e` (or `layer_norm(%g, %b)`), the
      lookup hashes `norm(input)` instead of `input`, without the
      normalized tensor ever being stored.
    * Packed tables (`-mnemo-pack-tables`): `tables` may be
      `[h / C, K, 2^tau, C]`, with `packed[c, k, r, j] = T[k, r, c*C + j]`,
      so that the slice of `C` columns of one table is contiguous.

    ```mlir
    %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 9.99999993E-9, %packed
        bias %b weighting<l1_prob>
        : (tensor<?x512xf32>, tensor<512xf32>, tensor<16x64x256x32xf16>, tensor<512xf32>)
        -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins
    Mnemo_Activation2D:$input,
    Optional<Mnemo_Activation1D>:$norm_weight,
    Optional<Mnemo_Activation1D>:$norm_bias,
    Mnemo_TableTensor:$tables,
    Optional<Mnemo_Activation1D>:$bias,
    Mnemo_WeightingAttr:$weighting,
    DefaultValuedAttr<F32Attr, "1.0f">:$temperature,
    OptionalAttr<Mnemo_NormKindAttr>:$norm,
    OptionalAttr<F32Attr>:$norm_epsilon,
    OptionalAttr<Mnemo_LookupTilingAttr>:$tiling
  );
  let results = (outs Mnemo_Activation2D:$result);

  let assemblyFormat = [{
    $input (`normalized` `by` `` $norm^ `(` $norm_weight (`,` $norm_bias^)? `)`
    `eps` $norm_epsilon)? `,` $tables (`bias` $bias^)? `weighting` ``
    $weighting (`temperature` $temperature^)? attr-dict `:`
    functional-type(operands, results)
  }];

  let builders = [
    OpBuilder<(ins "Type":$resultType, "Value":$input, "Value":$tables,
                   "Value":$bias, "Weighting":$weighting,
                   CArg<"float", "1.0f">:$temperature)>
  ];

  let extraClassDeclaration = [{
    /// True when `tables` is in the packed `[h / C, K, 2^tau, C]` layout.
    bool isPacked() { return getTables().getType().getRank() == 4; }
    /// K: the number of tables.
    int64_t getNumTables() { return tableDim(0); }
    /// 2^tau: the number of rows (buckets) in each table.
    int64_t getNumBuckets() { return tableDim(1); }
    /// tau: the number of input values hashed by each table.
    int64_t getBitsPerTable();
    /// h: the width of a table row and of the output.
    int64_t getOutputWidth();
    /// C: the width of a packed column tile (h when not packed).
    int64_t getPackedColumns() {
      return isPacked() ? getTables().getType().getDimSize(3) : getOutputWidth();
    }
    /// d: the width of the input.
    int64_t getInputWidth() { return getInput().getType().getDimSize(1); }
    /// True when a static token count is at most half the rows of a table
    /// (decoding): rows are then rarely read twice in a call, so each comes
    /// from DRAM, which decides the tiling, and neither packing nor fusing
    /// the tables (a copy of them each) pays for the memory it takes.
    bool hasFewTokens() {
      int64_t n = getInput().getType().getDimSize(0);
      return !ShapedType::isDynamic(n) &&
             n <= std::max<int64_t>(1, getNumBuckets() / 2);
    }

  private:
    /// Dimension `i` of the logical `[K, 2^tau, h]` view; for packed tables
    /// `i = 2` gives the column tile width.
    int64_t tableDim(unsigned i) {
      auto type = getTables().getType();
      return type.getDimSize(isPacked() ? i + 1 : i);
    }
  public:
  }];

  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Memsizer
//===----------------------------------------------------------------------===//

def Mnemo_MemsizerAlphaOp : Mnemo_Op<"memsizer_alpha", [Pure]> {
  let summary = "Memsizer's lightweight multi-head: mean of per-head softmaxes";
  let description = [{
    Turns the output of Memsizer's key projection `Phi` (`[T, H*k]`, head
    `h` in columns `h*k .. (h+1)*k - 1`) into the memory addressing weights
    `alpha = mean over heads of softmax_k(logits_h)` (`[T, k]`, SPEC §3).
    Averaging the heads before touching the values makes the attention cost
    that of a single head.

    Example:

    ```mlir
    %alpha = mnemo.memsizer_alpha %logits heads 8 : tensor<?x256xf32> -> tensor<?x32xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$logits, I64Attr:$num_heads);
  let results = (outs Mnemo_Activation2D:$alpha);

  let assemblyFormat = [{
    $logits `heads` $num_heads attr-dict `:` type($logits) `->` type($alpha)
  }];

  let hasVerifier = 1;
}

def Mnemo_MemsizerPrefillOp : Mnemo_Op<"memsizer_prefill", [Pure]> {
  let summary = "Memsizer causal self-attention over a sequence";
  let description = [{
    Causal key-value memory attention over `T` new tokens of one sequence
    that continue a memory `state` (`[k, d]`, the unscaled sum of
    `key_i val_i^T` over the `start` tokens already seen; zeros and 0 for a
    fresh sequence). For the new token at 0-based row `r`, at 1-based
    position `t = start + r + 1`:

    ```
    S_t = state + sum_{i <= r} keys[i] values[i]^T        (k x d)
    y_t = alpha[r]^T S_t * (1 / sqrt(t))                   (scale<rsqrt>)
    ```

    `new_state` is `S` after the last token, unscaled, for the next call.
    Splitting a sequence across calls at any point gives the same outputs.

    Example:

    ```mlir
    %y, %s1 = mnemo.memsizer_prefill %alpha, %keys, %values state %s0 at %start scale<rsqrt>
        : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x512xf32>, tensor<32x512xf32>
        -> tensor<?x512xf32>, tensor<32x512xf32>
    ```
  }];

  let arguments = (ins
    Mnemo_Activation2D:$alpha,
    Mnemo_Activation2D:$keys,
    Mnemo_Activation2D:$values,
    Mnemo_Activation2D:$state,
    Index:$start,
    DefaultValuedAttr<Mnemo_MemsizerScaleAttr, "MemsizerScale::rsqrt">:$scale
  );
  let results = (outs Mnemo_Activation2D:$output, Mnemo_Activation2D:$new_state);

  let assemblyFormat = [{
    $alpha `,` $keys `,` $values `state` $state `at` $start `scale` `` $scale
    attr-dict `:` type($alpha) `,` type($keys) `,` type($values) `,` type($state)
    `->` type($output) `,` type($new_state)
  }];

  let hasVerifier = 1;
}

def Mnemo_MemsizerStepOp : Mnemo_Op<"memsizer_step", [Pure]> {
  let summary = "Memsizer single-token decoding step for a batch of sequences";
  let description = [{
    One decoding step of Memsizer causal self-attention for `B` independent
    sequences. Sequence `b` holds the unscaled memory `state[b]` (`[k, d]`)
    of `count[b]` tokens; the new token is at position `t = count[b] + 1`:

    ```
    new_state[b] = state[b] + key[b] value[b]^T
    output[b]    = alpha[b]^T new_state[b] * (1 / sqrt(t))   (scale<rsqrt>)
    ```

    The cost is the same at every position: the state never grows.

    Example:

    ```mlir
    %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %s0 at %count scale<rsqrt>
        : tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x512xf32>, tensor<4x32x512xf32>, tensor<4xi64>
        -> tensor<4x512xf32>, tensor<4x32x512xf32>
    ```
  }];

  let arguments = (ins
    Mnemo_Activation2D:$alpha,
    Mnemo_Activation2D:$key,
    Mnemo_Activation2D:$value,
    Mnemo_Activation3D:$state,
    Mnemo_I64Vector:$count,
    DefaultValuedAttr<Mnemo_MemsizerScaleAttr, "MemsizerScale::rsqrt">:$scale
  );
  let results = (outs Mnemo_Activation2D:$output, Mnemo_Activation3D:$new_state);

  let assemblyFormat = [{
    $alpha `,` $key `,` $value `state` $state `at` $count `scale` `` $scale
    attr-dict `:` type($alpha) `,` type($key) `,` type($value) `,` type($state)
    `,` type($count) `->` type($output) `,` type($new_state)
  }];

  let hasVerifier = 1;
}

def Mnemo_MemsizerSourceMemoryOp
    : Mnemo_Op<"memsizer_source_memory", [Pure]> {
  let summary = "Memsizer cross-attention memory of a source sequence";
  let description = [{
    Packs a source sequence into the `[k, d]` memory that every target token
    of an encoder-decoder reads (SPEC §3):

    ```
    memory = sum_{i : mask[i]} keys[i] values[i]^T * (1 / sqrt(n_src))   (scale<rsqrt>)
    ```

    where `n_src` is the number of tokens kept by `mask` (all `S` tokens
    without a mask; `false` marks padding). A source with no tokens kept
    gives a zero memory.

    Example:

    ```mlir
    %m = mnemo.memsizer_source_memory %keys, %values mask %keep scale<rsqrt>
        : (tensor<?x32xf32>, tensor<?x512xf32>, tensor<?xi1>) -> tensor<32x512xf32>
    ```
  }];

  let arguments = (ins
    Mnemo_Activation2D:$keys,
    Mnemo_Activation2D:$values,
    Optional<Mnemo_MaskVector>:$mask,
    DefaultValuedAttr<Mnemo_MemsizerScaleAttr, "MemsizerScale::rsqrt">:$scale
  );
  let results = (outs Mnemo_Activation2D:$memory);

  let assemblyFormat = [{
    $keys `,` $values (`mask` $mask^)? `scale` `` $scale attr-dict `:`
    functional-type(operands, results)
  }];

  let hasVerifier = 1;
}

def Mnemo_MemsizerCrossOp : Mnemo_Op<"memsizer_cross", [Pure]> {
  let summary = "Memsizer cross-attention read-out of a source memory";
  let description = [{
    Reads a source memory built by `mnemo.memsizer_source_memory` for `T`
    target tokens: `output[r] = alpha[r]^T memory`. The memory is computed
    once per source and shared by every target token and decoding step.

    A batch of decoding sequences, each with its own source, passes the
    memories as `[M, k, d]`: row `r` reads `memory[r]` when `M = T`, and
    every row reads `memory[0]` when `M = 1` (other values of `M` are
    undefined behavior; the generated code reads `memory[min(r, M - 1)]`).

    Example:

    ```mlir
    %y = mnemo.memsizer_cross %alpha, %memory
        : tensor<?x32xf32>, tensor<32x512xf32> -> tensor<?x512xf32>
    %z = mnemo.memsizer_cross %alpha, %memories
        : tensor<?x32xf32>, tensor<?x32x512xf32> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins
    Mnemo_Activation2D:$alpha,
    AnyTypeOf<[Mnemo_Activation2D, Mnemo_Activation3D]>:$memory
  );
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $alpha `,` $memory attr-dict `:` type($alpha) `,` type($memory) `->` type($output)
  }];

  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Model-level ops
//===----------------------------------------------------------------------===//

def Mnemo_RMSNormOp : Mnemo_Op<"rms_norm", [Pure]> {
  let summary = "RMS normalization over the last dimension";
  let description = [{
    `output[r] = input[r] / sqrt(mean(input[r]^2) + epsilon) * weight`
    (SPEC §2; MemoryFormer uses `epsilon = 1e-8`).

    Example:

    ```mlir
    %u = mnemo.rms_norm %x, %g eps 9.99999993E-9 : tensor<?x512xf32>, tensor<512xf32> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$input, Mnemo_Activation1D:$weight,
                       F32Attr:$epsilon);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $input `,` $weight `eps` $epsilon attr-dict `:` type($input) `,`
    type($weight) `->` type($output)
  }];

  let hasVerifier = 1;
}

def Mnemo_LayerNormOp : Mnemo_Op<"layer_norm", [Pure]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `output[r] = (input[r] - mean) / sqrt(var + epsilon) * weight + bias`,
    with the biased variance of the row (SPEC §2; `epsilon = 1e-5`).

    Example:

    ```mlir
    %u = mnemo.layer_norm %x, %g, %b eps 9.99999974E-6
        : tensor<?x512xf32>, tensor<512xf32>, tensor<512xf32> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$input, Mnemo_Activation1D:$weight,
                       Mnemo_Activation1D:$bias, F32Attr:$epsilon);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $input `,` $weight `,` $bias `eps` $epsilon attr-dict `:` type($input) `,`
    type($weight) `,` type($bias) `->` type($output)
  }];

  let hasVerifier = 1;
}

def Mnemo_RotaryOp : Mnemo_Op<"rotary", [Pure]> {
  let summary = "Rotary position embedding (GPT-NeoX rotate-half)";
  let description = [{
    Rotates the first `rotary_dims` values of each of the `num_heads` heads
    of every row (row width `H * head_dim`) by its token's 0-based position,
    in the GPT-NeoX rotate-half convention (SPEC §2). With `r = rotary_dims`
    and, for `i < r/2`, `theta_i = positions[row] * base^(-2i/r)`:

    ```
    out[i]       = x[i] * cos(theta_i) - x[i + r/2] * sin(theta_i)
    out[i + r/2] = x[i + r/2] * cos(theta_i) + x[i] * sin(theta_i)
    ```

    Values past `r` in each head pass through unchanged.

    Example:

    ```mlir
    %q1 = mnemo.rotary %q, %pos heads 8 dims 16 base 1.000000e+04
        : tensor<?x512xf32>, tensor<?xi64> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$input, Mnemo_I64Vector:$positions,
                       I64Attr:$num_heads, I64Attr:$rotary_dims,
                       DefaultValuedAttr<F32Attr, "10000.0f">:$base);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $input `,` $positions `heads` $num_heads `dims` $rotary_dims
    `base` $base attr-dict `:` type($input) `,` type($positions) `->` type($output)
  }];

  let extraClassDeclaration = [{
    int64_t getHeadDim() {
      return getInput().getType().getDimSize(1) / getNumHeads();
    }
  }];

  let hasVerifier = 1;
}

def Mnemo_CausalAttentionOp : Mnemo_Op<"causal_attention", [Pure]> {
  let summary = "Causal multi-head softmax attention";
  let description = [{
    Multi-head scaled dot-product attention with a causal mask, over `N`
    queries and `M >= N` keys and values, where the queries are the last `N`
    positions of the key sequence (`M == N` for a prompt, `M` = cache length
    when decoding with a KV cache). Query row `i` attends to key rows
    `0 .. M - N + i`. All three operands are `[rows, H * head_dim]`:

    ```
    out_h[i] = softmax_j(scale * q_h[i] . k_h[j]) v_h   over j <= M - N + i
    ```

    Example:

    ```mlir
    %o = mnemo.causal_attention %q, %k, %v heads 8 scale 0.176776692
        : tensor<?x512xf32>, tensor<?x512xf32>, tensor<?x512xf32> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$query, Mnemo_Activation2D:$key,
                       Mnemo_Activation2D:$value, I64Attr:$num_heads,
                       F32Attr:$scale);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $query `,` $key `,` $value `heads` $num_heads `scale` $scale attr-dict `:`
    type($query) `,` type($key) `,` type($value) `->` type($output)
  }];

  let hasVerifier = 1;
}

def Mnemo_AttentionOp : Mnemo_Op<"attention", [Pure]> {
  let summary = "Multi-head softmax attention without a mask";
  let description = [{
    Multi-head scaled dot-product attention in which each of the `N` queries
    attends to all `M` keys and values (an encoder's self-attention, where
    every source token sees the whole source). Operands are
    `[rows, H * head_dim]`:

    ```
    out_h[i] = softmax_j(scale * q_h[i] . k_h[j]) v_h   over all j
    ```

    Example:

    ```mlir
    %o = mnemo.attention %q, %k, %v heads 8 scale 0.176776692
        : tensor<?x512xf32>, tensor<?x512xf32>, tensor<?x512xf32> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$query, Mnemo_Activation2D:$key,
                       Mnemo_Activation2D:$value, I64Attr:$num_heads,
                       F32Attr:$scale);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $query `,` $key `,` $value `heads` $num_heads `scale` $scale attr-dict `:`
    type($query) `,` type($key) `,` type($value) `->` type($output)
  }];

  let hasVerifier = 1;
}

def Mnemo_EmbeddingOp : Mnemo_Op<"embedding", [Pure]> {
  let summary = "Token embedding: gather rows of a table by token id";
  let description = [{
    `output[r] = table[ids[r]]`, converted to f32. Ids must lie in
    `[0, V)`; callers (the runtime) validate them before running, and the
    result for an out-of-range id is undefined.

    Example:

    ```mlir
    %x = mnemo.embedding %table[%ids] : tensor<50304x512xf16>, tensor<?xi64> -> tensor<?x512xf32>
    ```
  }];

  let arguments = (ins Mnemo_Weight2D:$table, Mnemo_I64Vector:$ids);
  let results = (outs Mnemo_Activation2D:$output);

  let assemblyFormat = [{
    $table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($output)
  }];

  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dense layers
//===----------------------------------------------------------------------===//

def Mnemo_LinearOp : Mnemo_Op<"linear", [Pure]> {
  let summary = "A fully-connected layer in PyTorch's layout";
  let description = [{
    `output = input weight^T + bias` with `weight` stored `[out, in]`, as
    PyTorch's `Linear` stores it (SPEC §3, §4: Memsizer's projections and
    FFN, the dense baseline's projections and FFN, every model's LM head).
    With f32 weights the CPU lowering calls the BLAS library (`sgemm`, or
    `sgemv` for one row): dense layers are the baseline Mnemo is measured
    against, and are run as fast as the platform's BLAS runs them. Weights
    stored in f16 or bf16 (a model's LM head) are read in that width by
    generated code (`-mnemo-lower-linear`), the products accumulated in
    f32.

    Example:

    ```mlir
    %y = mnemo.linear %x, %w bias %b
        : (tensor<?x512xf32>, tensor<2048x512xf32>, tensor<2048xf32>) -> tensor<?x2048xf32>
    ```
  }];

  let arguments = (ins Mnemo_Activation2D:$input,
                       2DTensorOf<[F32, F16, BF16]>:$weight,
                       Optional<Mnemo_Activation1D>:$bias);
  let results = (outs Mnemo_Activation2D:$output);

  let extraClassDeclaration = [{
    /// Whether the CPU lowering is a BLAS call (f32 weights,
    /// -mnemo-lower-to-runtime) rather than generated code (f16/bf16
    /// weights, -mnemo-lower-linear).
    bool hasBLASWeight() {
      return getWeight().getType().getElementType().isF32();
    }
  }];

  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];

  let hasVerifier = 1;
}

#endif // MNEMO_OPS_TD
