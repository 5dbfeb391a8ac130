//===- Types.h - Vocabulary shared by Mnemo's libraries ---------*- C++ -*-===//
//
// The element types of buffers that compiled code reads and writes, and the
// Memory Layer weightings of SPEC §1, shared by the reference, the model
// reader, the JIT and the runtime. Plain C++: the reference uses it too.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_TYPES_H
#define MNEMO_SUPPORT_TYPES_H

#include <cstdint>

namespace mnemo {

/// Element types of buffers.
enum class ElementType { F32, F16, BF16, I64, I32, I1 };

/// Bytes per element of `type` (I1 is stored as one byte).
int64_t elementBytes(ElementType type);
/// `f32`, `f16`, ...
const char *elementTypeName(ElementType type);

/// How a Memory Layer weighs the row it picks from each table (SPEC §1):
/// `prob` is the paper's, with a temperature; `l1_prob` the authors' code's.
enum class Weighting { Prob, L1Prob };

/// `prob` or `l1_prob`.
const char *weightingName(Weighting weighting);

} // namespace mnemo

#endif // MNEMO_SUPPORT_TYPES_H
