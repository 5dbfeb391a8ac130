//===- Kernels.h - Library kernels that generated code calls ----*- C++ -*-===//
//
// What `-mnemo-lower-to-runtime` turns some mnemo ops into: calls with the C
// interface of MLIR's memref descriptors (`_mlir_ciface_<name>`, memrefs by
// pointer, scalars by value). `mnemo.linear` goes to the BLAS library, the
// baseline every speed figure is measured against; softmax attention, rotary
// and token embedding are loops here. Linear and attention run on the
// OpenMP team that runs the generated kernels (linear as one
// single-threaded BLAS call per thread, on its share of the outputs): a
// second thread pool, BLAS's, would compete with that team for the cores
// between kernels. So a call of `mnemo_linear` sets OpenBLAS to one thread
// (`openblas_set_num_threads(1)`), for the whole process. The Memory
// Layers and Memsizer's attention, Mnemo's subjects, are generated code
// (-mnemo-lower-lookups, -mnemo-lower-memsizer), not calls.
//
// Every 2-D argument may have any row stride (a slice of a wider matrix)
// but unit column stride; kernels check what they rely on and abort with a
// message otherwise (only generated code calls them, so a violation is a
// compiler bug, not bad input).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_RUNTIME_KERNELS_H
#define MNEMO_RUNTIME_KERNELS_H

#include "mlir/ExecutionEngine/CRunnerUtils.h"

#include <cstdint>

extern "C" {

/// y = x w^T + bias (w is [out, in]; an empty bias is none).
void _mlir_ciface_mnemo_linear(StridedMemRefType<float, 2> *x,
                               StridedMemRefType<float, 2> *w,
                               StridedMemRefType<float, 1> *bias,
                               StridedMemRefType<float, 2> *y);

/// Causal softmax attention of `q` ([N, H*hd]) over `k`, `v` ([M, H*hd]),
/// queries being the last N of M positions.
void _mlir_ciface_mnemo_causal_attention(StridedMemRefType<float, 2> *q,
                                         StridedMemRefType<float, 2> *k,
                                         StridedMemRefType<float, 2> *v,
                                         StridedMemRefType<float, 2> *out,
                                         int64_t heads, float scale);

/// The same without a mask: every query sees all M keys.
void _mlir_ciface_mnemo_attention(StridedMemRefType<float, 2> *q,
                                  StridedMemRefType<float, 2> *k,
                                  StridedMemRefType<float, 2> *v,
                                  StridedMemRefType<float, 2> *out,
                                  int64_t heads, float scale);

/// GPT-NeoX rotary embedding of each row at its position.
void _mlir_ciface_mnemo_rotary(StridedMemRefType<float, 2> *x,
                               StridedMemRefType<int64_t, 1> *positions,
                               StridedMemRefType<float, 2> *out, int64_t heads,
                               int64_t dims, float base);

/// out[r] = table[ids[r]], widened to f32.
void _mlir_ciface_mnemo_embedding_f32(StridedMemRefType<float, 2> *table,
                                      StridedMemRefType<int64_t, 1> *ids,
                                      StridedMemRefType<float, 2> *out);
void _mlir_ciface_mnemo_embedding_f16(StridedMemRefType<uint16_t, 2> *table,
                                      StridedMemRefType<int64_t, 1> *ids,
                                      StridedMemRefType<float, 2> *out);
void _mlir_ciface_mnemo_embedding_bf16(StridedMemRefType<uint16_t, 2> *table,
                                       StridedMemRefType<int64_t, 1> *ids,
                                       StridedMemRefType<float, 2> *out);
}

#endif // MNEMO_RUNTIME_KERNELS_H
