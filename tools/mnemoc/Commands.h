//===- Commands.h - mnemoc's subcommands ------------------------*- C++ -*-===//
//
// Each group of subcommands registers its options with CLI11 and returns
// what to run when the user chose it. Exit codes, for every command: 0
// success, 1 bad input or a failed run (one line on stderr naming the file
// or option), 2 usage errors (reported by CLI11).
//
//===----------------------------------------------------------------------===//

#ifndef MNEMOC_COMMANDS_H
#define MNEMOC_COMMANDS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace mnemoc {

/// Prints `message` as mnemoc's one-line error and returns exit code 1.
int reportError(const llvm::Twine &message);
/// The same for an llvm::Error (a multi-line message is joined).
int reportError(llvm::Error error);

/// Progress lines on stderr for long steps, or null (silent) with `quiet`
/// or when stderr is not a terminal.
std::function<void(llvm::StringRef)> progressPrinter(bool quiet);

/// A subcommand and what to run when it is the one parsed.
struct Command {
  CLI::App *app = nullptr;
  std::function<int()> run;
};

/// `eval-layer` and `bench layer` (`bench` is the parent of `bench layer`).
void addLayerCommands(CLI::App &app, CLI::App &bench,
                      std::vector<Command> &commands);

/// `init`, `stats`, `run`, `compile` and `bench DIR`.
void addModelCommands(CLI::App &app, CLI::App &bench,
                      std::vector<Command> &commands);

/// `compile`.
void addCompileCommand(CLI::App &app, std::vector<Command> &commands);

} // namespace mnemoc

#endif // MNEMOC_COMMANDS_H
