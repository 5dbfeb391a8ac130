//===- JITTest.cpp - The JIT's on-disk kernel cache -------------*- C++ -*-===//
//
// A module compiled with a cache directory is loaded from it the second
// time, computes the same numbers, and survives a damaged entry (which is
// recompiled and replaced, never loaded); with one object file or several
// (the LLVM side compiled on several threads), which compute the same
// numbers. An entry's key names the build of Mnemo that compiled it.
//
//===----------------------------------------------------------------------===//

#include "mnemo/JIT/JIT.h"
#include "mnemo/InitAll.h"
#include "mnemo/JIT/ObjectCode.h"
#include "mnemo/Support/Build.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

using namespace mnemo;

namespace {

const char *kSource = R"mlir(
  func.func @layer(%x: tensor<?x4xf32>, %t: tensor<2x4x3xf32> {mnemo.weight})
      -> tensor<?x3xf32> {
    %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
        : (tensor<?x4xf32>, tensor<2x4x3xf32>) -> tensor<?x3xf32>
    return %y : tensor<?x3xf32>
  }
)mlir";

struct Compiled {
  std::shared_ptr<const CompiledModule> module;
  std::string error;
};

Compiled compile(const std::string &cacheDirectory, int64_t compileThreads) {
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kSource, &context);
  JITOptions options;
  options.cacheDirectory = cacheDirectory;
  options.compileThreads = compileThreads;
  auto compiled = compileModule(*module, options);
  if (!compiled)
    return {nullptr, llvm::toString(compiled.takeError())};
  return {*compiled, ""};
}

/// Runs @layer on two tokens; chunks (2, 3) and (-1, 0) pick rows 0b11 and
/// 0b01 of table 0, (-2, -2) and (0.5, -4) rows 0 and 0b10 of table 1.
std::vector<float> run(const CompiledModule &module) {
  std::vector<float> x = {2, 3, -2, -2, -1, 0, 0.5f, -4};
  std::vector<float> tables(2 * 4 * 3);
  for (size_t i = 0; i < tables.size(); ++i)
    tables[i] = static_cast<float>(i);
  std::vector<float> y(6, -1.0f);
  auto prepared = module.prepareWeights("layer", {{tables.data(), {2, 4, 3}}});
  EXPECT_TRUE(static_cast<bool>(prepared));
  llvm::Error error = module.callPrepared(
      "layer",
      {{x.data(), {2, 4}}, {tables.data(), {2, 4, 3}}, {y.data(), {2, 3}}},
      *prepared);
  EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  return y;
}

/// The compile threads of each test: entries of one object, and of several.
class KernelCache : public ::testing::TestWithParam<int64_t> {};

TEST_P(KernelCache, SecondCompileLoadsTheEntry) {
  const int64_t threads = GetParam();
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mnemo-cache-test", dir));
  Compiled first = compile(std::string(dir), threads);
  ASSERT_TRUE(first.module) << first.error;
  EXPECT_FALSE(first.module->loadedFromCache());
  Compiled second = compile(std::string(dir), threads);
  ASSERT_TRUE(second.module) << second.error;
  EXPECT_TRUE(second.module->loadedFromCache());
  EXPECT_EQ(run(*first.module), run(*second.module));

  // Exactly one entry; damage it (flip a byte of the object): it is
  // recompiled, not loaded, and the entry is replaced by a good one.
  std::error_code ec;
  std::string entry;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec), ++entries)
    entry = it->path();
  ASSERT_EQ(entries, 1);
  auto bytes = llvm::MemoryBuffer::getFile(entry);
  ASSERT_TRUE(static_cast<bool>(bytes));
  std::string damaged = (*bytes)->getBuffer().str();
  damaged[damaged.size() / 2] ^= 0x5a;
  {
    llvm::raw_fd_ostream out(entry, ec);
    out << damaged;
  }
  Compiled third = compile(std::string(dir), threads);
  ASSERT_TRUE(third.module) << third.error;
  EXPECT_FALSE(third.module->loadedFromCache());
  EXPECT_EQ(run(*first.module), run(*third.module));
  Compiled fourth = compile(std::string(dir), threads);
  ASSERT_TRUE(fourth.module) << fourth.error;
  EXPECT_TRUE(fourth.module->loadedFromCache());

  // A truncated entry, and an empty one, are treated the same way.
  {
    llvm::raw_fd_ostream out(entry, ec);
    out << damaged.substr(0, 20);
  }
  Compiled fifth = compile(std::string(dir), threads);
  ASSERT_TRUE(fifth.module) << fifth.error;
  EXPECT_FALSE(fifth.module->loadedFromCache());
  llvm::sys::fs::remove_directories(dir);
}

/// The key of an entry names this binary's build ID: a rebuilt Mnemo, whose
/// code generator may differ while the module, the options and the release
/// number do not, looks its kernels up under other keys and never loads
/// those of another build.
TEST_P(KernelCache, EntryKeyNamesTheBuild) {
  const std::string id = buildIdentity();
  // The GNU build ID (SHA-1, which the build asks the linker for), in hex.
  ASSERT_EQ(id.size(), 40u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("mnemo-cache-test", dir));
  Compiled compiled = compile(std::string(dir), GetParam());
  ASSERT_TRUE(compiled.module) << compiled.error;
  std::error_code ec;
  llvm::sys::fs::directory_iterator it(dir, ec);
  ASSERT_FALSE(ec);
  auto bytes = llvm::MemoryBuffer::getFile(it->path());
  ASSERT_TRUE(static_cast<bool>(bytes));
  EXPECT_NE((*bytes)->getBuffer().find("build " + id + "\n"),
            llvm::StringRef::npos);
  llvm::sys::fs::remove_directories(dir);
}

TEST_P(KernelCache, UnwritableDirectoryOnlyCostsTheCache) {
  Compiled compiled = compile("/proc/mnemo-cannot-write-here", GetParam());
  ASSERT_TRUE(compiled.module) << compiled.error;
  EXPECT_FALSE(compiled.module->loadedFromCache());
  std::vector<float> y = run(*compiled.module);
  // Token 0: rows 3 of table 0 (9, 10, 11) and 0 of table 1 (12, 13, 14).
  // Weights: l1_prob w = (|2| + |3|) s(4) s(6) and (2 + 2) s(4) s(4), with
  // s(a) = 1 / (1 + e^-a).
  auto s = [](double a) { return 1.0 / (1.0 + std::exp(-a)); };
  double w0 = 5 * s(4) * s(6), w1 = 4 * s(4) * s(4);
  EXPECT_NEAR(y[0], w0 * 9 + w1 * 12, 1e-4);
  EXPECT_NEAR(y[2], w0 * 11 + w1 * 14, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(CompileThreads, KernelCache, ::testing::Values(1, 4));

/// The module's LLVM side split over threads: one object per part, linked
/// together, computing what the single object computes, bit for bit.
TEST(CompileThreads, PartsLinkAndComputeTheSameNumbers) {
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kSource, &context);
  ASSERT_TRUE(module);
  auto signatures = lowerModule(*module, JITOptions());
  ASSERT_TRUE(static_cast<bool>(signatures))
      << llvm::toString(signatures.takeError());
  // @layer, its weight preparation, their C interfaces, and the parallel
  // regions OpenMP outlined: at least four functions to spread.
  auto parts = compileToObjects(*module, 4);
  ASSERT_TRUE(static_cast<bool>(parts)) << llvm::toString(parts.takeError());
  EXPECT_EQ(parts->size(), 4u);
  auto single = compileToObjects(*module, 1);
  ASSERT_TRUE(static_cast<bool>(single)) << llvm::toString(single.takeError());
  EXPECT_EQ(single->size(), 1u);

  // Both linked and run through the JIT's own path.
  Compiled split = compile("", 4), whole = compile("", 1);
  ASSERT_TRUE(split.module) << split.error;
  ASSERT_TRUE(whole.module) << whole.error;
  std::vector<float> a = run(*split.module), b = run(*whole.module);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], -1.0f);

  // And the parts themselves load and link: every entry point resolves.
  auto loaded = LoadedObject::load(std::move(*parts));
  ASSERT_TRUE(static_cast<bool>(loaded)) << llvm::toString(loaded.takeError());
  for (const char *name : {"layer", "layer__prepare_weights"}) {
    auto entry = (*loaded)->lookupPacked(name);
    EXPECT_TRUE(static_cast<bool>(entry)) << llvm::toString(entry.takeError());
  }
}

TEST(CompileThreads, OutOfRangeIsAnError) {
  JITOptions options;
  options.compileThreads = -1;
  llvm::Error error = options.validate();
  ASSERT_TRUE(static_cast<bool>(error));
  EXPECT_NE(llvm::toString(std::move(error)).find("compile threads"),
            std::string::npos);
}

} // namespace
