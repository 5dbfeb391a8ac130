//===- InitAll.h - Register what Mnemo's tools use --------------*- C++ -*-===//
//
// One place that lists the dialects and passes Mnemo's tools need. It
// registers only what the pipelines use, not all of MLIR: including
// mlir/InitAll*.h costs a minute of compile time per file on this machine.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_INITALL_H
#define MNEMO_INITALL_H

namespace mlir {
class DialectRegistry;
namespace mnemo {

/// Adds the mnemo dialect and the upstream dialects (and their interface
/// models) that mnemo IR is lowered through.
void registerAllDialects(DialectRegistry &registry);

/// Registers the mnemo passes, the upstream passes the pipelines are made
/// of, and the pipelines themselves, for textual pass pipelines.
void registerAllPasses();

} // namespace mnemo
} // namespace mlir

#endif // MNEMO_INITALL_H
