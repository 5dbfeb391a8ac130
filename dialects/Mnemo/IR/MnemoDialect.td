//===- MnemoDialect.td - The mnemo dialect -----------------*- tablegen -*-===//
//
// The `mnemo` dialect describes memory-based Transformer layers: the Memory
// Layer of MemoryFormer and the key-value memory attention of Memsizer, plus
// the few model-level ops (norms, rotary embedding, softmax attention, token
// embedding) that upstream dialects do not provide in a form fit for fusion.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_DIALECT_TD
#define MNEMO_DIALECT_TD

include "mlir/IR/OpBase.td"

def Mnemo_Dialect : Dialect {
  let name = "mnemo";
  let summary = "Memory-based Transformer layers (MemoryFormer, Memsizer)";
  let description = [{
    The `mnemo` dialect represents the layers of two families of efficient
    Transformers whose cost is dominated by memory traffic rather than
    multiply-adds:

    * MemoryFormer's Memory Layer (`mnemo.hash_lookup`): a fully-connected
      layer replaced by `K` hash tables of `2^tau` rows, indexed by the signs
      of each `tau`-wide chunk of the input.
    * Memsizer's key-value memory attention (`mnemo.memsizer_*`): attention
      against input-independent keys with a `k x d` value memory that grows
      by a rank-1 update per token.

    All ops work on ranked tensors with value semantics. Shapes that the
    generated kernels specialize on (number of tables, bits per table, output
    width, memory slots) must be static; the token dimension may be dynamic.
    The exact semantics of every op are fixed by SPEC.md and implemented
    plainly in `lib/Reference`, the numerical oracle.
  }];
  let cppNamespace = "::mlir::mnemo";
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 0;
}

class Mnemo_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mnemo_Dialect, mnemonic, traits>;

#endif // MNEMO_DIALECT_TD
