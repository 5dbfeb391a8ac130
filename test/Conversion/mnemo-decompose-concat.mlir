// RUN: mnemo-opt %s -mnemo-decompose-concat | FileCheck %s

// CHECK-LABEL: func.func @concat
// CHECK-SAME: (%[[A:.+]]: tensor<2x8xf32>, %[[B:.+]]: tensor<2x4xf32>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x12xf32>
// CHECK: %[[I:.+]] = tensor.insert_slice %[[A]] into %[[E]][0, 0] [2, 8] [1, 1]
// CHECK: tensor.insert_slice %[[B]] into %[[I]][0, 8] [2, 4] [1, 1]
// CHECK-NOT: tensor.concat
func.func @concat(%a: tensor<2x8xf32>, %b: tensor<2x4xf32>) -> tensor<2x12xf32> {
  %c = tensor.concat dim(1) %a, %b : (tensor<2x8xf32>, tensor<2x4xf32>) -> tensor<2x12xf32>
  return %c : tensor<2x12xf32>
}
