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

// Parts computed in the function: the empty tensor moves before the first
// part and each part is inserted as soon as it is computed, so that
// -eliminate-empty-tensors can compute each part in place, in its slice
// (test/Pipelines/mnemo-lower-to-loops.mlir: packed fused tables).
// CHECK-LABEL: func.func @computed_parts
// CHECK-SAME: (%[[A:.+]]: tensor<4x8xf32>, %[[B:.+]]: tensor<4x4xf32>)
// CHECK-NEXT: %[[EA:.+]] = tensor.empty() : tensor<8x4xf32>
// CHECK-NEXT: %[[E:.+]] = tensor.empty() : tensor<12x4xf32>
// CHECK-NEXT: %[[TA:.+]] = linalg.transpose ins(%[[A]] : tensor<4x8xf32>) outs(%[[EA]] : tensor<8x4xf32>)
// CHECK-NEXT: %[[I:.+]] = tensor.insert_slice %[[TA]] into %[[E]][0, 0] [8, 4] [1, 1]
// CHECK-NEXT: %[[EB:.+]] = tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: %[[TB:.+]] = linalg.transpose ins(%[[B]] : tensor<4x4xf32>) outs(%[[EB]] : tensor<4x4xf32>)
// CHECK-NEXT: %[[R:.+]] = tensor.insert_slice %[[TB]] into %[[I]][8, 0] [4, 4] [1, 1]
// CHECK-NEXT: return %[[R]]
func.func @computed_parts(%a: tensor<4x8xf32>, %b: tensor<4x4xf32>) -> tensor<12x4xf32> {
  %ea = tensor.empty() : tensor<8x4xf32>
  %ta = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%ea : tensor<8x4xf32>) permutation = [1, 0]
  %eb = tensor.empty() : tensor<4x4xf32>
  %tb = linalg.transpose ins(%b : tensor<4x4xf32>) outs(%eb : tensor<4x4xf32>) permutation = [1, 0]
  %c = tensor.concat dim(0) %ta, %tb : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<12x4xf32>
  return %c : tensor<12x4xf32>
}
