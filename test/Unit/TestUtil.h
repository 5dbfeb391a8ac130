//===- TestUtil.h - Helpers shared by the execution tests -------*- C++ -*-===//
//
// Compiling a module of mnemo IR text through the JIT, random inputs,
// values stored in 16 bits, and comparisons against lib/Reference relative
// to the largest expected value.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_TEST_UNIT_TESTUTIL_H
#define MNEMO_TEST_UNIT_TESTUTIL_H

#include "mnemo/InitAll.h"
#include "mnemo/JIT/JIT.h"
#include "mnemo/Support/Float16.h"
#include "mnemo/Support/Types.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
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

/// `values` stored in `type`: the f16 or bf16 words a kernel reads (none for
/// any other type, whose values stay as they are), with each value replaced by
/// the one its word stands for, which is what lib/Reference must be given.
inline std::vector<uint16_t> storeAs(ElementType type,
                                     std::vector<float> &values) {
  if (type != ElementType::F16 && type != ElementType::BF16)
    return {};
  std::vector<uint16_t> words(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    words[i] = type == ElementType::F16 ? floatToHalf(values[i])
                                        : floatToBf16(values[i]);
    values[i] = type == ElementType::F16 ? halfToFloat(words[i])
                                         : bf16ToFloat(words[i]);
  }
  return words;
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
