//===- mnemoc.cpp - The Mnemo compiler driver -------------------*- C++ -*-===//
//
// `mnemoc` is the user-facing driver: it creates, inspects, compiles, runs
// and measures models (init, stats, compile, run, bench DIR) and single
// Memory Layers (eval-layer, bench layer). See docs/cli.md.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "mnemo/Support/Build.h"
#include "mnemo/Version.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace mnemoc {

int reportError(const llvm::Twine &message) {
  llvm::outs().flush();
  llvm::errs() << "mnemoc: error: " << message << "\n";
  return 1;
}

int reportError(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  // One line: a multi-line diagnostic is joined.
  std::replace(message.begin(), message.end(), '\n', ' ');
  return reportError(message);
}

std::function<void(llvm::StringRef)> progressPrinter(bool quiet) {
  if (quiet || !llvm::errs().is_displayed())
    return nullptr;
  return
      [](llvm::StringRef line) { llvm::errs() << "mnemoc: " << line << "\n"; };
}

} // namespace mnemoc

int main(int argc, char **argv) {
  CLI::App app{"mnemo: a compiler for memory-based Transformer layers "
               "(MemoryFormer, Memsizer)",
               "mnemoc"};
  app.require_subcommand(1);
  // Usage errors on one line, like every other error.
  app.failure_message([](const CLI::App *, const CLI::Error &error) {
    return std::string("mnemoc: error: ") + error.what() + " (see --help)\n";
  });
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  // The build ID also keys the kernel cache: kernels of another build are
  // never loaded.
  app.set_version_flag("--version",
                       std::string("mnemo ") + MNEMO_VERSION_STRING +
                           " (LLVM " + LLVM_VERSION_STRING + ", build " +
                           mnemo::buildIdentity() + ")",
                       "Print the release, the LLVM and the build of mnemoc");

  CLI::App *bench = app.add_subcommand(
      "bench", "Measure speed: a model against a dense Transformer of the "
               "same shape (bench DIR), or one Memory Layer against dense "
               "BLAS (bench layer)");
  std::vector<mnemoc::Command> commands;
  mnemoc::addModelCommands(app, *bench, commands);
  mnemoc::addCompileCommand(app, commands);
  mnemoc::addLayerCommands(app, *bench, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // The most deeply nested command that was parsed (bench layer before
  // bench).
  for (auto it = commands.rbegin(); it != commands.rend(); ++it)
    if (it->app->parsed() &&
        std::none_of(commands.begin(), commands.end(),
                     [&](const mnemoc::Command &other) {
                       return other.app != it->app && other.app->parsed() &&
                              other.app->get_parent() == it->app;
                     }))
      return it->run();
  return 2;
}
