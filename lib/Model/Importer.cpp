//===- Importer.cpp - A model as mnemo IR ---------------------------------===//
//
// Writes the mnemo module of a model (Program.h) as text. Each layer function
// spells out the layer's structure as SPEC §2-§4 write it (norms, lookups or
// projections, rotary, attention, residuals), leaving every fusion and
// layout decision to the pipeline, so `mnemoc compile --emit mnemo` shows a
// user the model as the paper draws it.
//
//===----------------------------------------------------------------------===//

#include "mnemo/Model/Program.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace mnemo {

const ProgramFunction *ModelProgram::find(const std::string &name) const {
  for (const ProgramFunction &function : functions)
    if (function.name == name)
      return &function;
  return nullptr;
}

std::string weightName(const std::string &name, int64_t layer) {
  std::string result = name;
  size_t at = result.find("{layer}");
  if (at != std::string::npos)
    result.replace(at, 7, std::to_string(layer));
  return result;
}

namespace {

/// An f32 attribute value as text that parses back to the same float.
std::string floatText(double value) {
  return llvm::formatv("{0:e9}", static_cast<float>(value)).str();
}

/// `tensor<AxBxT>`; a negative size prints `?`.
std::string tensorType(std::initializer_list<int64_t> shape,
                       const char *element = "f32") {
  std::string text = "tensor<";
  for (int64_t dim : shape)
    text += (dim < 0 ? std::string("?") : std::to_string(dim)) + "x";
  return text + element + ">";
}

/// The element type of a float tensor type that tensorType wrote.
ElementType elementOf(llvm::StringRef type) {
  return type.ends_with("xbf16>")  ? ElementType::BF16
         : type.ends_with("xf16>") ? ElementType::F16
                                   : ElementType::F32;
}

/// Writes one function: its arguments (each with the role the runtime binds
/// to it) and a body of SSA statements.
class FunctionWriter {
public:
  FunctionWriter(std::string name, int64_t rows) : rows(rows) {
    function.name = std::move(name);
  }

  /// An argument the runtime binds to `role`; returns its SSA name. Tensor
  /// arguments are inputs, never written in place: a function that updated
  /// and returned one would return its own argument, which the bufferized
  /// calling convention (results written to out-parameters) cannot express.
  std::string arg(const std::string &name, ArgRole role,
                  const std::string &type) {
    bool tensor = llvm::StringRef(type).starts_with("tensor");
    signature.push_back("%" + name + ": " + type +
                        (tensor ? " {bufferization.writable = false}" : ""));
    function.args.push_back({role, ""});
    return "%" + name;
  }

  /// Its rows are one token of each of a batch of sequences.
  void markBatched() { function.batched = true; }

  /// A weight argument `tensor` (with `{layer}` for the layer's index).
  std::string weight(const std::string &tensor, const std::string &type) {
    std::string ssa = "%w" + std::to_string(function.args.size());
    signature.push_back(ssa + ": " + type + " {mnemo.weight}");
    function.args.push_back({ArgRole::Weight, tensor, elementOf(type)});
    return ssa;
  }

  /// Appends `%name = text`; returns `%name`.
  std::string let(const std::string &name, const std::string &text) {
    body += "  %" + name + " = " + text + "\n";
    return "%" + name;
  }
  void line(const std::string &text) { body += "  " + text + "\n"; }

  /// The activation type `[rows, width]` of this function.
  std::string act(int64_t width) const { return tensorType({rows, width}); }

  void finish(llvm::raw_ostream &os, const std::string &result,
              const std::string &resultType, bool logits,
              std::vector<ProgramFunction> &functions) {
    os << "func.func @" << function.name << "("
       << llvm::join(signature, ",\n    ") << ")\n    -> " << resultType
       << " {\n"
       << body << "  return " << result << " : " << resultType << "\n}\n\n";
    function.returnsLogits = logits;
    functions.push_back(std::move(function));
  }

  int64_t rows;

private:
  ProgramFunction function;
  std::vector<std::string> signature;
  std::string body;
};

/// Builds the layer functions of one family.
class Importer {
public:
  Importer(const ModelConfig &config, const ImportOptions &options)
      : c(config), options(options), d(config.hiddenSize),
        dtype(elementTypeName(config.dtype)) {}

  ModelProgram run() {
    ModelProgram program;
    llvm::raw_string_ostream os(program.mlir);
    os << "// " << familyName(c.family) << ": d = " << d
       << ", heads = " << c.numHeads << ", layers = " << c.numLayers
       << ", vocab = " << c.vocabSize << ", weights " << dtype << "\n\n";
    if (c.family == Family::MemsizerSeq2Seq) {
      embed(os, program.functions, kEncoderEmbedFunction, "encoder.",
            options.encoderPositionEmbedding);
      encoderLayer(os, program.functions);
      encoderNorm(os, program.functions);
      crossMemory(os, program.functions);
      embed(os, program.functions, kEmbedFunction, "decoder.",
            options.positionEmbedding);
    } else {
      embed(os, program.functions, kEmbedFunction, "",
            options.positionEmbedding);
    }
    layer(os, program.functions, kLayerPrefillFunction, -1, false);
    // Memsizer decodes a batch of sequences, each with its own state; the
    // other families decode one token of one sequence.
    layer(os, program.functions, kLayerDecodeFunction, c.isMemsizer() ? -1 : 1,
          true);
    head(os, program.functions);
    return program;
  }

private:
  const ModelConfig &c;
  const ImportOptions &options;
  int64_t d;
  const char *dtype;

  std::string vec(int64_t width) const { return tensorType({width}); }

  /// The element type `tensor` is stored in, for weights the kernels take
  /// as stored.
  const char *stored(const std::string &tensor) const {
    auto it = options.storedTypes.find(tensor);
    return it == options.storedTypes.end() ? dtype
                                           : elementTypeName(it->second);
  }

  /// A dense weight `[out, in]` of `element` type: f32 (widened by the
  /// runtime, for BLAS), or the stored type (generated code).
  std::string linear(FunctionWriter &f, const std::string &name,
                     const std::string &prefix, const std::string &x,
                     int64_t in, int64_t out, bool bias = true,
                     const char *element = "f32") {
    std::string weightType = tensorType({out, in}, element);
    std::string w = f.weight(prefix + ".weight", weightType);
    std::string text = "mnemo.linear " + x + ", " + w;
    std::string types = f.act(in) + ", " + weightType;
    if (bias) {
      text += " bias " + f.weight(prefix + ".bias", vec(out));
      types += ", " + vec(out);
    }
    return f.let(name, text + " : (" + types + ") -> " + f.act(out));
  }

  std::string layerNorm(FunctionWriter &f, const std::string &name,
                        const std::string &prefix, const std::string &x,
                        int64_t width) {
    std::string g = f.weight(prefix + ".weight", vec(width));
    std::string b = f.weight(prefix + ".bias", vec(width));
    return f.let(name, "mnemo.layer_norm " + x + ", " + g + ", " + b + " eps " +
                           floatText(c.layerNormEps) + " : " + f.act(width) +
                           ", " + vec(width) + ", " + vec(width) + " -> " +
                           f.act(width));
  }

  std::string rmsNorm(FunctionWriter &f, const std::string &name,
                      const std::string &prefix, const std::string &x) {
    std::string g = f.weight(prefix + ".weight", vec(d));
    return f.let(name, "mnemo.rms_norm " + x + ", " + g + " eps " +
                           floatText(c.rmsNormEps) + " : " + f.act(d) + ", " +
                           vec(d) + " -> " + f.act(d));
  }

  /// A Memory Layer `K * bits -> out` with bias (SPEC §1).
  std::string lookup(FunctionWriter &f, const std::string &name,
                     const std::string &prefix, const std::string &x,
                     int64_t bits, int64_t out) {
    int64_t in = c.numTables * bits;
    std::string tablesType =
        tensorType({c.numTables, int64_t{1} << bits, out}, dtype);
    std::string t = f.weight(prefix + ".tables", tablesType);
    std::string b = f.weight(prefix + ".bias", vec(out));
    std::string weighting =
        c.weighting == Weighting::Prob
            ? "weighting<prob> temperature " + floatText(c.temperature)
            : "weighting<l1_prob>";
    return f.let(name, "mnemo.hash_lookup " + x + ", " + t + " bias " + b +
                           " " + weighting + " : (" + f.act(in) + ", " +
                           tablesType + ", " + vec(out) + ") -> " + f.act(out));
  }

  std::string add(FunctionWriter &f, const std::string &name,
                  const std::string &a, const std::string &b) {
    return f.let(name, "arith.addf " + a + ", " + b + " : " + f.act(d));
  }

  /// An elementwise function of `x` (`[rows, width]`) written into `x`'s
  /// buffer: `body` maps `%elem` to the SSA value it names last.
  std::string map(FunctionWriter &f, const std::string &name,
                  const std::string &x, int64_t width, const std::string &body,
                  const std::string &result) {
    std::string type = f.act(width);
    return f.let(name, "linalg.map ins(" + x + " : " + type + ") outs(" + x +
                           " : " + type + ")\n      (%elem: f32) {\n" + body +
                           "        linalg.yield " + result +
                           " : f32\n      }");
  }

  /// The number of rows as an index value.
  std::string rowCount(FunctionWriter &f, const std::string &x) {
    if (f.rows >= 0)
      return f.let("n",
                   "arith.constant " + std::to_string(f.rows) + " : index");
    f.let("c0", "arith.constant 0 : index");
    return f.let("n", "tensor.dim " + x + ", %c0 : " + f.act(d));
  }

  /// Rotary on Q and K, the new rows into the caches, causal attention over
  /// every cached row (SPEC §2, §4).
  std::string attention(FunctionWriter &f, const std::string &x,
                        const std::string &positions, const std::string &kc,
                        const std::string &vc, std::string q, std::string k,
                        const std::string &v) {
    int64_t rd = c.rotaryDims();
    if (rd > 0) {
      std::string attrs = " heads " + std::to_string(c.numHeads) + " dims " +
                          std::to_string(rd) + " base " +
                          floatText(c.rotaryBase) + " : " + f.act(d) + ", " +
                          tensorType({f.rows}, "i64") + " -> " + f.act(d);
      q = f.let("q_rot", "mnemo.rotary " + q + ", " + positions + attrs);
      k = f.let("k_rot", "mnemo.rotary " + k + ", " + positions + attrs);
    }
    std::string n = rowCount(f, x);
    f.let("c0_rows", "arith.constant 0 : index");
    std::string m = f.let("m", "memref.dim " + kc + ", %c0_rows : memref<?x" +
                                   std::to_string(d) + "xf32>");
    std::string start =
        f.let("start", "arith.subi " + m + ", " + n + " : index");
    std::string cacheType = "memref<?x" + std::to_string(d) + "xf32>";
    std::string rowsText = f.rows >= 0 ? std::to_string(f.rows) : n;
    std::string viewType = std::string("memref<") +
                           (f.rows >= 0 ? std::to_string(f.rows) : "?") + "x" +
                           std::to_string(d) + "xf32, strided<[" +
                           std::to_string(d) + ", 1], offset: ?>>";
    auto store = [&](const std::string &name, const std::string &cache,
                     const std::string &value) {
      std::string view =
          f.let(name, "memref.subview " + cache + "[" + start + ", 0] [" +
                          rowsText + ", " + std::to_string(d) +
                          "] [1, 1] : " + cacheType + " to " + viewType);
      f.line("bufferization.materialize_in_destination " + value +
             " in restrict writable " + view + " : (" + f.act(d) + ", " +
             viewType + ") -> ()");
    };
    store("k_new", kc, k);
    store("v_new", vc, v);
    std::string keys = f.let("keys", "bufferization.to_tensor " + kc +
                                         " restrict : " + cacheType);
    std::string values = f.let("values", "bufferization.to_tensor " + vc +
                                             " restrict : " + cacheType);
    double scale = 1.0 / std::sqrt(static_cast<double>(c.headDim()));
    return f.let("attn", "mnemo.causal_attention " + q + ", " + keys + ", " +
                             values + " heads " + std::to_string(c.numHeads) +
                             " scale " + floatText(scale) + " : " + f.act(d) +
                             ", " + tensorType({-1, d}) + ", " +
                             tensorType({-1, d}) + " -> " + f.act(d));
  }

  /// Token embeddings from `prefix`embed.weight, scaled (Memsizer), plus
  /// `prefix`pos_embed.weight when the model has it.
  void embed(llvm::raw_ostream &os, std::vector<ProgramFunction> &functions,
             const char *name, const std::string &prefix,
             bool positionEmbedding) {
    FunctionWriter f(name, -1);
    std::string tokens =
        f.arg("tokens", ArgRole::Tokens, tensorType({-1}, "i64"));
    std::string positions =
        f.arg("positions", ArgRole::Positions, tensorType({-1}, "i64"));
    bool memsizer = c.isMemsizer();
    std::string tableType =
        tensorType({c.vocabSize, d}, stored(prefix + "embed.weight"));
    std::string table = f.weight(prefix + "embed.weight", tableType);
    std::string x = f.let("x", "mnemo.embedding " + table + "[" + tokens +
                                   "] : " + tableType + ", " +
                                   tensorType({-1}, "i64") + " -> " + f.act(d));
    if (memsizer && c.embedScale != 1.0)
      x = map(f, "x_scaled", x, d,
              "        %s = arith.constant " + floatText(c.embedScale) +
                  " : f32\n        %r = arith.mulf %elem, %s : f32\n",
              "%r");
    if (memsizer && positionEmbedding) {
      std::string posType = tensorType({c.maxPositions, d});
      std::string pos = f.weight(prefix + "pos_embed.weight", posType);
      std::string p = f.let(
          "p", "mnemo.embedding " + pos + "[" + positions + "] : " + posType +
                   ", " + tensorType({-1}, "i64") + " -> " + f.act(d));
      x = add(f, "x_pos", x, p);
    }
    f.finish(os, x, f.act(d), false, functions);
  }

  /// Memsizer's alpha of `u` from `prefix`.phi, with `slots` slots.
  std::string memsizerAlpha(FunctionWriter &f, const std::string &name,
                            const std::string &prefix, const std::string &u,
                            int64_t slots) {
    int64_t heads = c.numHeads;
    std::string logits =
        linear(f, name + "_logits", prefix + ".phi", u, d, heads * slots);
    return f.let(name, "mnemo.memsizer_alpha " + logits + " heads " +
                           std::to_string(heads) + " : " +
                           f.act(heads * slots) + " -> " + f.act(slots));
  }

  /// Memsizer's keys and values of `u` from `prefix` (wl, wr, norm_k,
  /// norm_v), with `slots` slots.
  std::pair<std::string, std::string>
  memsizerKeysValues(FunctionWriter &f, const std::string &name,
                     const std::string &prefix, const std::string &u,
                     int64_t slots) {
    std::string keys =
        layerNorm(f, name + "_keys", prefix + ".norm_k",
                  linear(f, name + "_kl", prefix + ".wl", u, d, slots), slots);
    std::string values =
        layerNorm(f, name + "_values", prefix + ".norm_v",
                  linear(f, name + "_vl", prefix + ".wr", u, d, d), d);
    return {keys, values};
  }

  /// The source memory of `keys` and `values`: `[slots, d]`.
  std::string sourceMemory(FunctionWriter &f, const std::string &name,
                           const std::string &keys, const std::string &values,
                           int64_t slots) {
    return f.let(name, "mnemo.memsizer_source_memory " + keys + ", " + values +
                           " scale<rsqrt> : (" + f.act(slots) + ", " +
                           f.act(d) + ") -> " + tensorType({slots, d}));
  }

  /// The read-out by `alpha` of a source memory of type `memoryType`:
  /// `[slots, d]`, or one `[slots, d]` per row.
  std::string crossRead(FunctionWriter &f, const std::string &name,
                        const std::string &alpha, const std::string &memory,
                        const std::string &memoryType, int64_t slots) {
    return f.let(name, "mnemo.memsizer_cross " + alpha + ", " + memory + " : " +
                           f.act(slots) + ", " + memoryType + " -> " +
                           f.act(d));
  }

  /// Memsizer's causal self-attention of `u` (projections under `prefix`)
  /// continuing `state`, which it updates: prefill, or one step of each
  /// sequence of a batch when `decode`.
  std::string memsizerSelf(FunctionWriter &f, const std::string &prefix,
                           const std::string &u, const std::string &positions,
                           const std::string &state,
                           const std::string &stateType, bool decode) {
    int64_t k = c.memorySlots, rows = f.rows;
    std::string memory = std::to_string(k) + "x" + std::to_string(d);
    std::string alpha = memsizerAlpha(f, "alpha", prefix, u, k);
    auto [keys, values] = memsizerKeysValues(f, "self", prefix, u, k);
    std::string s0 = f.let("s0", "bufferization.to_tensor " + state +
                                     " restrict : " + stateType);
    std::string stateTensor =
        "tensor<" + std::string(decode ? "?x" : "") + memory + "xf32>";
    if (decode) {
      // One fused step per sequence; its position counts the tokens its
      // state holds.
      f.let("y, %s1", "mnemo.memsizer_step " + alpha + ", " + keys + ", " +
                          values + " state " + s0 + " at " + positions +
                          " scale<rsqrt> : " + f.act(k) + ", " + f.act(k) +
                          ", " + f.act(d) + ", " + stateTensor + ", " +
                          tensorType({rows}, "i64") + " -> " + f.act(d) + ", " +
                          stateTensor);
    } else {
      f.let("c0", "arith.constant 0 : index");
      std::string first =
          f.let("first", "tensor.extract " + positions +
                             "[%c0] : " + tensorType({rows}, "i64"));
      std::string start =
          f.let("start", "arith.index_cast " + first + " : i64 to index");
      f.let("y, %s1", "mnemo.memsizer_prefill " + alpha + ", " + keys + ", " +
                          values + " state " + s0 + " at " + start +
                          " scale<rsqrt> : " + f.act(k) + ", " + f.act(k) +
                          ", " + f.act(d) + ", " + stateTensor + " -> " +
                          f.act(d) + ", " + stateTensor);
    }
    f.line("bufferization.materialize_in_destination %s1 in restrict "
           "writable " +
           state + " : (" + stateTensor + ", " + stateType + ") -> ()");
    return "%y";
  }

  /// x + fc2(ReLU(fc1(LayerNorm(x)))) (`norm_ffn`, `ffn.*` under `p`).
  std::string reluFFN(FunctionWriter &f, const std::string &p,
                      const std::string &x) {
    int64_t ffn = c.ffnSize;
    std::string g = layerNorm(f, "g", p + "norm_ffn", x, d);
    std::string h = linear(f, "h", p + "ffn.fc1", g, d, ffn);
    std::string relu = map(f, "relu", h, ffn,
                           "        %zero = arith.constant 0.0 : f32\n"
                           "        %r = arith.maximumf %elem, %zero : f32\n",
                           "%r");
    return add(f, "out", x, linear(f, "ffn", p + "ffn.fc2", relu, ffn, d));
  }

  /// memsizer_seq2seq: one encoder layer over a whole source.
  void encoderLayer(llvm::raw_ostream &os,
                    std::vector<ProgramFunction> &functions) {
    FunctionWriter f(kEncoderLayerFunction, -1);
    std::string x = f.arg("x", ArgRole::Hidden, f.act(d));
    std::string positions =
        f.arg("positions", ArgRole::Positions, tensorType({-1}, "i64"));
    std::string p = "encoder.layers.{layer}.";
    std::string u = layerNorm(f, "u", p + "norm_attn", x, d);
    std::string a;
    if (c.encoderMemsizer) {
      // Every source token reads the memory of the whole source.
      int64_t kc = c.crossMemorySlots;
      std::string alpha = memsizerAlpha(f, "alpha", p + "attn", u, kc);
      auto [keys, values] = memsizerKeysValues(f, "src", p + "attn", u, kc);
      std::string memory = sourceMemory(f, "memory", keys, values, kc);
      a = add(f, "a", x,
              crossRead(f, "attn", alpha, memory, tensorType({kc, d}), kc));
    } else {
      std::string q = linear(f, "q", p + "attn.q", u, d, d);
      std::string k = linear(f, "k", p + "attn.k", u, d, d);
      std::string v = linear(f, "v", p + "attn.v", u, d, d);
      int64_t rd = c.rotaryDims();
      if (rd > 0) {
        std::string attrs = " heads " + std::to_string(c.numHeads) + " dims " +
                            std::to_string(rd) + " base " +
                            floatText(c.rotaryBase) + " : " + f.act(d) + ", " +
                            tensorType({-1}, "i64") + " -> " + f.act(d);
        q = f.let("q_rot", "mnemo.rotary " + q + ", " + positions + attrs);
        k = f.let("k_rot", "mnemo.rotary " + k + ", " + positions + attrs);
      }
      double scale = 1.0 / std::sqrt(static_cast<double>(c.headDim()));
      std::string attn =
          f.let("attn", "mnemo.attention " + q + ", " + k + ", " + v +
                            " heads " + std::to_string(c.numHeads) + " scale " +
                            floatText(scale) + " : " + f.act(d) + ", " +
                            f.act(d) + ", " + f.act(d) + " -> " + f.act(d));
      a = add(f, "a", x, linear(f, "o", p + "attn.o", attn, d, d));
    }
    f.finish(os, reluFFN(f, p, a), f.act(d), false, functions);
  }

  /// memsizer_seq2seq: the encoder's final LayerNorm.
  void encoderNorm(llvm::raw_ostream &os,
                   std::vector<ProgramFunction> &functions) {
    FunctionWriter f(kEncoderNormFunction, -1);
    std::string x = f.arg("x", ArgRole::Hidden, f.act(d));
    f.finish(os, layerNorm(f, "h", "encoder.norm_out", x, d), f.act(d), false,
             functions);
  }

  /// memsizer_seq2seq: the source memory of a decoder layer's
  /// cross-attention, from the encoder's output.
  void crossMemory(llvm::raw_ostream &os,
                   std::vector<ProgramFunction> &functions) {
    FunctionWriter f(kCrossMemoryFunction, -1);
    int64_t kc = c.crossMemorySlots;
    std::string h = f.arg("h", ArgRole::Hidden, f.act(d));
    auto [keys, values] = memsizerKeysValues(
        f, "src", "decoder.layers.{layer}.cross_attn", h, kc);
    f.finish(os, sourceMemory(f, "memory", keys, values, kc),
             tensorType({kc, d}), false, functions);
  }

  void layer(llvm::raw_ostream &os, std::vector<ProgramFunction> &functions,
             const char *name, int64_t rows, bool decode) {
    FunctionWriter f(name, rows);
    std::string x = f.arg("x", ArgRole::Hidden, f.act(d));
    std::string positions =
        f.arg("positions", ArgRole::Positions, tensorType({rows}, "i64"));
    std::string cacheType = "memref<?x" + std::to_string(d) + "xf32>";
    std::string p = "layers.{layer}.";
    std::string out;
    switch (c.family) {
    case Family::MemoryFormer: {
      std::string kc = f.arg("k_cache", ArgRole::KeyCache, cacheType);
      std::string vc = f.arg("v_cache", ArgRole::ValueCache, cacheType);
      int64_t tau = c.bitsPerTable, wide = c.expandedWidth();
      // a = x + Attn(RMSNorm_in(x)): Q, K and V are Memory Layers of u.
      std::string u = rmsNorm(f, "u", p + "norm_in", x);
      std::string q = lookup(f, "q", p + "attn.q", u, tau, d);
      std::string k = lookup(f, "k", p + "attn.k", u, tau, d);
      std::string v = lookup(f, "v", p + "attn.v", u, tau, d);
      std::string a =
          add(f, "a", x, attention(f, x, positions, kc, vc, q, k, v));
      // out = a + ML2(LayerNorm_mid(ML1(RMSNorm_post(a))))
      std::string post = rmsNorm(f, "post", p + "norm_post", a);
      std::string mid = lookup(f, "mid", p + "block.ml1", post, tau, wide);
      std::string midNorm =
          layerNorm(f, "mid_norm", p + "block.norm_mid", mid, wide);
      std::string y =
          lookup(f, "y", p + "block.ml2", midNorm, tau + c.expandBits, d);
      out = add(f, "out", a, y);
      break;
    }
    case Family::Memsizer:
    case Family::MemsizerSeq2Seq: {
      bool seq2seq = c.family == Family::MemsizerSeq2Seq;
      if (decode)
        f.markBatched();
      if (seq2seq)
        p = "decoder.layers.{layer}.";
      std::string memory =
          std::to_string(c.memorySlots) + "x" + std::to_string(d);
      std::string stateType =
          "memref<" + std::string(decode ? "?x" : "") + memory + "xf32>";
      std::string state = f.arg("state", ArgRole::State, stateType);
      // A decoding batch reads one source memory per sequence.
      int64_t kc = c.crossMemorySlots;
      std::string crossType =
          decode ? tensorType({-1, kc, d}) : tensorType({kc, d});
      std::string cross =
          seq2seq ? f.arg("cross", ArgRole::CrossMemory, crossType) : "";
      // a = x + MemsizerAttn(LayerNorm(x))
      std::string u = layerNorm(f, "u", p + "norm_attn", x, d);
      std::string a = add(f, "a", x,
                          memsizerSelf(f, p + (seq2seq ? "self_attn" : "attn"),
                                       u, positions, state, stateType, decode));
      if (seq2seq) {
        // b = a + alpha(LayerNorm(a))^T memory: the source's memory.
        std::string v = layerNorm(f, "v", p + "norm_cross", a, d);
        std::string alpha = memsizerAlpha(f, "calpha", p + "cross_attn", v, kc);
        a = add(f, "b", a, crossRead(f, "ycross", alpha, cross, crossType, kc));
      }
      // out = a + fc2(ReLU(fc1(LayerNorm(a))))
      out = reluFFN(f, p, a);
      break;
    }
    case Family::Transformer: {
      std::string kc = f.arg("k_cache", ArgRole::KeyCache, cacheType);
      std::string vc = f.arg("v_cache", ArgRole::ValueCache, cacheType);
      int64_t ffn = c.ffnSize;
      // a = x + O(Attn(Q, K, V)) on LayerNorm(x)
      std::string u = layerNorm(f, "u", p + "norm_attn", x, d);
      std::string q = linear(f, "q", p + "attn.q", u, d, d);
      std::string k = linear(f, "k", p + "attn.k", u, d, d);
      std::string v = linear(f, "v", p + "attn.v", u, d, d);
      std::string attn = attention(f, x, positions, kc, vc, q, k, v);
      std::string a = add(f, "a", x, linear(f, "o", p + "attn.o", attn, d, d));
      // out = a + fc2(GELU(fc1(LayerNorm(a)))), exact (erf) GELU
      std::string g = layerNorm(f, "g", p + "norm_ffn", a, d);
      std::string h = linear(f, "h", p + "ffn.fc1", g, d, ffn);
      std::string gelu =
          map(f, "gelu", h, ffn,
              "        %half = arith.constant 0.5 : f32\n"
              "        %one = arith.constant 1.0 : f32\n"
              "        %rsqrt2 = arith.constant " +
                  floatText(1.0 / std::sqrt(2.0)) +
                  " : f32\n"
                  "        %s = arith.mulf %elem, %rsqrt2 : f32\n"
                  "        %e = math.erf %s : f32\n"
                  "        %e1 = arith.addf %e, %one : f32\n"
                  "        %hv = arith.mulf %elem, %half : f32\n"
                  "        %r = arith.mulf %hv, %e1 : f32\n",
              "%r");
      out = add(f, "out", a, linear(f, "ffn", p + "ffn.fc2", gelu, ffn, d));
      break;
    }
    }
    f.finish(os, out, f.act(d), false, functions);
  }

  void head(llvm::raw_ostream &os, std::vector<ProgramFunction> &functions) {
    FunctionWriter f(kHeadFunction, -1);
    std::string x = f.arg("x", ArgRole::Hidden, f.act(d));
    std::string normed = c.family == Family::MemoryFormer
                             ? rmsNorm(f, "normed", "norm_out", x)
                         : c.family == Family::MemsizerSeq2Seq
                             ? layerNorm(f, "normed", "decoder.norm_out", x, d)
                             : layerNorm(f, "normed", "norm_out", x, d);
    // The head runs on few rows (each sequence's last token, except when
    // all of a prompt's logits are asked for): its weight, the largest
    // dense one, stays as stored and is read by generated code, at half
    // the bytes per decoding step of a widened f32 copy for BLAS.
    std::string logits = linear(f, "logits", "lm_head", normed, d, c.vocabSize,
                                false, stored("lm_head.weight"));
    f.finish(os, logits, f.act(c.vocabSize), true, functions);
  }
};

} // namespace

ModelProgram importModel(const ModelConfig &config,
                         const ImportOptions &options) {
  return Importer(config, options).run();
}

} // namespace mnemo
