//===- Pipelines.h - Mnemo's pass pipelines ---------------------*- C++ -*-===//
//
// The one definition of every pass pipeline. `mnemoc`, `mnemo-opt` and the
// JIT all build their pass managers from these functions, so any pipeline a
// user hits can be reproduced with `mnemo-opt --<pipeline-name>`.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_PIPELINES_H
#define MNEMO_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

#include <string>
#include <utility>

namespace mlir {
class OpPassManager;
namespace mnemo {

/// `mnemo-optimize`: target-independent rewrites of mnemo IR: sibling lookup
/// fusion, canonicalization and CSE.
void buildOptimizePipeline(OpPassManager &pm);

/// Options of the CPU pipeline. The defaults describe this project's
/// reference machine (AVX2, 32 KiB L1d, 512 KiB L2 per core).
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> threads{*this, "threads",
                          llvm::cl::desc("threads the kernels are tiled for"),
                          llvm::cl::init(1)};
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector (8: AVX2, 16: AVX-512)"),
      llvm::cl::init(8)};
  Option<int64_t> l1CacheBytes{*this, "l1-cache-bytes",
                               llvm::cl::desc("L1 data cache per core"),
                               llvm::cl::init(32 * 1024)};
  Option<int64_t> l2CacheBytes{*this, "l2-cache-bytes",
                               llvm::cl::desc("L2 cache per core"),
                               llvm::cl::init(512 * 1024)};
  Option<int64_t> tokenTile{*this, "token-tile",
                            llvm::cl::desc("force the token tile (0: choose; "
                                           "with gpu-kernels, the tokens per "
                                           "thread of the gather)"),
                            llvm::cl::init(0)};
  Option<int64_t> splitTablesBelow{
      *this, "split-tables-below",
      llvm::cl::desc("with gpu-kernels: below this many threads of the "
                     "gather, split the tables across threads (-1: the "
                     "pass's default, 0: never)"),
      llvm::cl::init(-1)};
  Option<int64_t> attentionScores{
      *this, "attention-scores",
      llvm::cl::desc("with gpu-kernels: the most attention scores kept in "
                     "scratch (-1: the pass's default, 0: never)"),
      llvm::cl::init(-1)};
  Option<int64_t> columnTile{
      *this, "column-tile", llvm::cl::desc("force the column tile (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> tablesPerPass{
      *this, "tables-per-pass",
      llvm::cl::desc("force the tables per pass (0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> prefetch{
      *this, "prefetch",
      llvm::cl::desc("force the prefetch distance (-1: choose, 0: none)"),
      llvm::cl::init(-1)};
  Option<std::string> parallel{
      *this, "parallel",
      llvm::cl::desc("parallel loop of Memory Layers: auto, tokens, columns"),
      llvm::cl::init("auto")};
  Option<int64_t> memsizerChunk{
      *this, "memsizer-chunk",
      llvm::cl::desc("tokens per Memsizer prefill chunk (0: choose)"),
      llvm::cl::init(0)};
  Option<bool> hoistWeights{
      *this, "hoist-weights",
      llvm::cl::desc("move weight preparation into a load-time function"),
      llvm::cl::init(true)};
  Option<bool> fuse{*this, "fuse",
                    llvm::cl::desc("fuse sibling lookups and fold norms"),
                    llvm::cl::init(true)};
  Option<bool> gpuKernels{
      *this, "gpu-kernels",
      llvm::cl::desc("lower with the GPU kernels' loop nests (one iteration "
                     "per GPU thread), to check them on the CPU"),
      llvm::cl::init(false)};
};

/// Options of the NVIDIA GPU pipelines.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (sm_80, sm_90)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX ISA features"),
                               llvm::cl::init("+ptx80")};
  Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("threads of a block along a kernel's innermost "
                     "dimension"),
      llvm::cl::init(128)};
  Option<int64_t> tokenTile{
      *this, "token-tile",
      llvm::cl::desc("tokens per thread of the Memory Layer's gather and "
                     "rows per thread of linear (0: the pass's choice, 2 "
                     "and 8)"),
      llvm::cl::init(0)};
  Option<int64_t> splitTablesBelow{
      *this, "split-tables-below",
      llvm::cl::desc("below this many threads of the Memory Layer's gather "
                     "(token tiles x column groups), split the tables "
                     "across threads (-1: the pass's default, 4096; 0: "
                     "never)"),
      llvm::cl::init(-1)};
  Option<int64_t> attentionScores{
      *this, "attention-scores",
      llvm::cl::desc("the most attention scores kept in scratch at once, "
                     "queries in chunks that fit (-1: the pass's default, "
                     "2^24; 0: one thread per (head, query) instead)"),
      llvm::cl::init(-1)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("what the gpu.binary holds: isa (PTX, which the "
                     "driver compiles when loading), bin (a cubin from "
                     "ptxas), fatbin"),
      llvm::cl::init("isa")};
};

/// `mnemo-lower-to-gpu`: mnemo IR to host functions that launch outlined
/// GPU kernels (`gpu.module`): the kernels of -mnemo-lower-gpu-kernels,
/// bufferized, tiled into blocks and mapped to the grid.
void buildLowerToGPUPipeline(OpPassManager &pm,
                             const GPUPipelineOptions &options);

/// The variable of the environment that names the CUDA toolkit (the ones
/// MLIR's NVVM target reads, in its order) and its value; nulls when none
/// is set. Without one, the CUDA pipeline uses /usr/local/cuda's libdevice.
std::pair<const char *, const char *> namedCUDAToolkit();

/// The second half of `mnemo-lower-to-ptx`: the output of
/// `mnemo-lower-to-gpu` to the LLVM dialect. The host functions' buffers
/// become device allocations (-mnemo-device-buffers), each function's
/// allocations and launches are queued on one stream that it waits for
/// before returning (-gpu-async-region), the kernels become PTX for `chip`
/// (or a cubin, by `format`) in a `gpu.binary`, and the host code calls the
/// `mgpu*` functions of Mnemo's CUDA runtime (Runtime/CUDA.h).
void buildGPUToLLVMPipeline(OpPassManager &pm,
                            const GPUPipelineOptions &options);

/// `mnemo-lower-to-ptx`: `mnemo-lower-to-gpu`, then
/// `buildGPUToLLVMPipeline`: a module the JIT compiles for the host, its
/// kernels embedded.
void buildLowerToPTXPipeline(OpPassManager &pm,
                             const GPUPipelineOptions &options);

/// `mnemo-lower-to-loops`: mnemo IR on tensors to tiled, vectorized loops on
/// buffers (scf, vector, memref, OpenMP-ready scf.parallel). The first half
/// of `mnemo-lower-to-llvm`; what it prints is what `mnemoc compile --emit
/// loops` shows.
void buildLowerToLoopsPipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options);

/// The second half of `mnemo-lower-to-llvm`: loops on buffers (the output of
/// `mnemo-lower-to-loops`) to the LLVM dialect, with OpenMP threads.
void buildLoopsToLLVMPipeline(OpPassManager &pm,
                              const CPUPipelineOptions &options);

/// `mnemo-lower-to-llvm`: mnemo IR on tensors to the LLVM dialect for the
/// CPU, ready for the JIT or for translation to an object file.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const CPUPipelineOptions &options);

/// Registers the pipelines above with their `mnemo-opt` names.
void registerPipelines();

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_PIPELINES_H
