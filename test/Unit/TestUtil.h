//===- TestUtil.h - Helpers shared by the execution tests -------*- C++ -*-===//
//
// Compiling a module of mnemo IR text through the JIT, random inputs, and
// comparisons against lib/Reference relative to the largest expected value.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_TEST_UNIT_TESTUTIL_H
#define MNEMO_TEST_UNIT_TESTUTIL_H

#include "mnemo/InitAll.h"
#include "mnemo/JIT/JIT.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

namespace mnemo::test {

/// `source` compiled with `options`, or null after a test failure.
inline std::shared_ptr<const CompiledModule>
compileSource(const std::string &source, const JITOptions &options) {
  mlir::DialectRegistry registry;
  mlir::mnemo::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  EXPECT_TRUE(module);
  if (!module)
    return nullptr;
  auto compiled = compileModule(*module, options);
  if (!compiled) {
    ADD_FAILURE() << llvm::toString(compiled.takeError());
    return nullptr;
  }
  return *compiled;
}

/// `count` values uniform in [-scale, scale].
inline std::vector<float> randomVector(size_t count, std::mt19937 &rng,
                                       float scale = 1) {
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = uniform(rng);
  return values;
}

/// Every element within `tolerance` times the largest expected magnitude.
inline void expectClose(const std::vector<float> &actual,
                        const std::vector<float> &expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  double scale = 1e-30;
  for (float e : expected)
    scale = std::max(scale, std::fabs(double(e)));
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], tolerance * scale) << "element " << i;
}

} // namespace mnemo::test

#endif // MNEMO_TEST_UNIT_TESTUTIL_H
