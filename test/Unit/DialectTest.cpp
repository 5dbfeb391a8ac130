//===- DialectTest.cpp - Unit tests of the mnemo dialect's C++ API -*- C++
//-*-===//
//
// Tests what lit cannot see from the command line: the accessors that
// lowerings rely on, the verifier as called from C++ builders, and the
// fusion patterns applied through their populate function.
//
//===----------------------------------------------------------------------===//

#include "Mnemo/IR/MnemoOps.h"
#include "Mnemo/Transforms/Passes.h"
#include "mnemo/InitAll.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::mnemo;

namespace {

class MnemoDialectTest : public ::testing::Test {
protected:
  MnemoDialectTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  OwningOpRef<ModuleOp> parse(StringRef source) {
    return parseSourceString<ModuleOp>(source, &context);
  }

  MLIRContext context;
};

std::string lookupModule(int64_t numTables, int64_t tau, int64_t width) {
  std::string tables = "tensor<" + std::to_string(numTables) + "x" +
                       std::to_string(int64_t{1} << tau) + "x" +
                       std::to_string(width) + "xf16>";
  std::string input = "tensor<?x" + std::to_string(numTables * tau) + "xf32>";
  std::string output = "tensor<?x" + std::to_string(width) + "xf32>";
  return "func.func @f(%x: " + input + ", %t: " + tables + ") -> " + output +
         " {\n  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (" + input +
         ", " + tables + ") -> " + output + "\n  return %y : " + output +
         "\n}\n";
}

HashLookupOp firstLookup(ModuleOp module) {
  HashLookupOp found;
  module.walk([&](HashLookupOp op) {
    if (!found)
      found = op;
  });
  return found;
}

class BitsPerTableTest : public MnemoDialectTest,
                         public ::testing::WithParamInterface<int64_t> {};

TEST_P(BitsPerTableTest, AccessorsReadGeometryFromTablesType) {
  int64_t tau = GetParam();
  int64_t numTables = tau == 16 ? 1 : 3;
  auto module = parse(lookupModule(numTables, tau, /*width=*/8));
  ASSERT_TRUE(module);
  HashLookupOp op = firstLookup(*module);
  ASSERT_TRUE(op);
  EXPECT_EQ(op.getBitsPerTable(), tau);
  EXPECT_EQ(op.getNumBuckets(), int64_t{1} << tau);
  EXPECT_EQ(op.getNumTables(), numTables);
  EXPECT_EQ(op.getInputWidth(), numTables * tau);
  EXPECT_EQ(op.getOutputWidth(), 8);
  EXPECT_EQ(op.getWeighting(), Weighting::l1_prob);
  EXPECT_TRUE(op.getTemperature().isExactlyValue(1.0));
}

INSTANTIATE_TEST_SUITE_P(AllTau, BitsPerTableTest,
                         ::testing::Range<int64_t>(1, 17));

TEST_F(MnemoDialectTest, VerifierRejectsWidthMismatchFromBuilder) {
  OpBuilder builder(&context);
  auto module = ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToEnd(module.getBody());
  auto f32 = builder.getF32Type();
  // d = 10 but K * tau = 4 * 2 = 8.
  auto input = builder.create<tensor::EmptyOp>(builder.getUnknownLoc(),
                                               ArrayRef<int64_t>{5, 10}, f32);
  auto tables = builder.create<tensor::EmptyOp>(
      builder.getUnknownLoc(), ArrayRef<int64_t>{4, 4, 6}, f32);
  builder.create<HashLookupOp>(builder.getUnknownLoc(),
                               RankedTensorType::get({5, 6}, f32), input,
                               tables, /*bias=*/Value(), Weighting::prob);

  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    message = diag.str();
    return success();
  });
  EXPECT_TRUE(failed(verify(module)));
  EXPECT_EQ(message, "'mnemo.hash_lookup' op input width 10 must equal "
                     "num_tables * bits_per_table = 4 * 2 = 8");
  module->erase();
}

TEST_F(MnemoDialectTest, WeightingEnumRoundTrips) {
  for (Weighting w : {Weighting::prob, Weighting::l1_prob}) {
    std::optional<Weighting> parsed = symbolizeWeighting(stringifyWeighting(w));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, w);
  }
  EXPECT_FALSE(symbolizeWeighting("softmax").has_value());
}

TEST_F(MnemoDialectTest, FusionPatternConcatenatesSiblingTables) {
  auto module = parse(R"mlir(
    func.func @qkv(%x: tensor<?x16xf32>, %tq: tensor<2x256x32xf32>,
                   %tk: tensor<2x256x8xf32>, %tv: tensor<2x256x24xf32>,
                   %bk: tensor<8xf32>)
        -> (tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x24xf32>) {
      %q = mnemo.hash_lookup %x, %tq weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
      %k = mnemo.hash_lookup %x, %tk bias %bk weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
      %v = mnemo.hash_lookup %x, %tv weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x24xf32>) -> tensor<?x24xf32>
      return %q, %k, %v : tensor<?x32xf32>, tensor<?x8xf32>, tensor<?x24xf32>
    }
  )mlir");
  ASSERT_TRUE(module);
  RewritePatternSet patterns(&context);
  populateFuseSiblingLookupsPatterns(patterns);
  ASSERT_TRUE(
      succeeded(applyPatternsAndFoldGreedily(*module, std::move(patterns))));
  ASSERT_TRUE(succeeded(verify(*module)));

  SmallVector<HashLookupOp> lookups;
  module->walk([&](HashLookupOp op) { lookups.push_back(op); });
  ASSERT_EQ(lookups.size(), 1u);
  HashLookupOp fused = lookups.front();
  EXPECT_EQ(fused.getOutputWidth(), 32 + 8 + 24);
  EXPECT_EQ(fused.getNumTables(), 2);
  ASSERT_TRUE(fused.getBias());
  EXPECT_EQ(fused.getBias().getType().getDimSize(0), 64);

  SmallVector<int64_t> offsets;
  module->walk([&](tensor::ExtractSliceOp slice) {
    offsets.push_back(slice.getStaticOffsets()[1]);
  });
  EXPECT_EQ(offsets, (SmallVector<int64_t>{0, 32, 40}));
}

TEST_F(MnemoDialectTest, FusionKeepsLookupsWithDifferentGeometryApart) {
  auto module = parse(R"mlir(
    func.func @f(%x: tensor<4x16xf32>, %a: tensor<2x256x8xf32>,
                 %b: tensor<4x16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
      %p = mnemo.hash_lookup %x, %a weighting<l1_prob> : (tensor<4x16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
      %q = mnemo.hash_lookup %x, %b weighting<l1_prob> : (tensor<4x16xf32>, tensor<4x16x8xf32>) -> tensor<4x8xf32>
      return %p, %q : tensor<4x8xf32>, tensor<4x8xf32>
    }
  )mlir");
  ASSERT_TRUE(module);
  RewritePatternSet patterns(&context);
  populateFuseSiblingLookupsPatterns(patterns);
  ASSERT_TRUE(
      succeeded(applyPatternsAndFoldGreedily(*module, std::move(patterns))));
  int count = 0;
  module->walk([&](HashLookupOp) { ++count; });
  EXPECT_EQ(count, 2);
}

} // namespace
