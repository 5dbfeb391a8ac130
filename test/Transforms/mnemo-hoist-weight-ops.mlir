// RUN: mnemo-opt %s -split-input-file -mnemo-hoist-weight-ops | FileCheck %s

// The concatenations of fused Q/K tables and biases depend only on weights
// (and a constant): they move to @layer__prepare_weights, whose results
// @layer receives as new weight arguments.
// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %{{.+}}: tensor<2x256x8xf32> {mnemo.weight}, %{{.+}}: tensor<2x256x8xf32> {mnemo.weight}, %{{.+}}: tensor<8xf32> {mnemo.weight},
// CHECK-SAME: %[[T:.+]]: tensor<2x256x16xf32> {mnemo.weight}, %[[B:.+]]: tensor<16xf32> {mnemo.weight})
// CHECK-SAME: attributes {mnemo.prepare_weights = @layer__prepare_weights}
// CHECK-NOT: tensor.concat
// CHECK-NOT: arith.constant
// CHECK: mnemo.hash_lookup %[[X]], %[[T]] bias %[[B]] weighting<l1_prob>
// CHECK-LABEL: func.func @layer__prepare_weights
// CHECK-SAME: (%[[Q:.+]]: tensor<2x256x8xf32>, %[[K:.+]]: tensor<2x256x8xf32>, %[[BK:.+]]: tensor<8xf32>) -> (tensor<2x256x16xf32>, tensor<16xf32>)
// CHECK: %[[TABLES:.+]] = tensor.concat dim(2) %[[Q]], %[[K]]
// CHECK: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : tensor<8xf32>
// CHECK: %[[BIAS:.+]] = tensor.concat dim(0) %[[ZERO]], %[[BK]]
// CHECK: return %[[TABLES]], %[[BIAS]]
func.func @layer(%x: tensor<?x16xf32>, %tq: tensor<2x256x8xf32> {mnemo.weight},
                 %tk: tensor<2x256x8xf32> {mnemo.weight}, %b: tensor<8xf32> {mnemo.weight})
    -> tensor<?x16xf32> {
  %c = tensor.concat dim(2) %tq, %tk : (tensor<2x256x8xf32>, tensor<2x256x8xf32>) -> tensor<2x256x16xf32>
  %z = arith.constant dense<0.0> : tensor<8xf32>
  %cb = tensor.concat dim(0) %z, %b : (tensor<8xf32>, tensor<8xf32>) -> tensor<16xf32>
  %y = mnemo.hash_lookup %x, %c bias %cb weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Packing (a reshape and a transpose into an empty tensor) is hoisted with
// the tensor.empty it writes into.
// CHECK-LABEL: func.func @packed
// CHECK-SAME: %[[P:[a-z0-9]+]]: tensor<2x2x256x4xf32> {mnemo.weight})
// CHECK-NOT: tensor.empty
// CHECK-NOT: linalg.transpose
// CHECK: mnemo.hash_lookup %{{.+}}, %[[P]]
// CHECK-LABEL: func.func @packed__prepare_weights
// CHECK: tensor.expand_shape
// CHECK: tensor.empty() : tensor<2x2x256x4xf32>
// CHECK: linalg.transpose
func.func @packed(%x: tensor<?x16xf32>, %t: tensor<2x256x8xf32> {mnemo.weight}) -> tensor<?x8xf32> {
  %s = tensor.expand_shape %t [[0], [1], [2, 3]] output_shape [2, 256, 2, 4] : tensor<2x256x8xf32> into tensor<2x256x2x4xf32>
  %e = tensor.empty() : tensor<2x2x256x4xf32>
  %p = linalg.transpose ins(%s : tensor<2x256x2x4xf32>) outs(%e : tensor<2x2x256x4xf32>) permutation = [2, 0, 1, 3]
  %y = mnemo.hash_lookup %x, %p weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x2x256x4xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// What depends on an activation stays; functions without weights are left
// alone.
// CHECK-LABEL: func.func @activation_dependent
// CHECK-NOT: mnemo.prepare_weights
// CHECK: tensor.concat
// CHECK-NOT: func.func @activation_dependent__prepare_weights
func.func @activation_dependent(%x: tensor<8xf32>, %w: tensor<8xf32> {mnemo.weight}) -> tensor<16xf32> {
  %c = tensor.concat dim(0) %x, %w : (tensor<8xf32>, tensor<8xf32>) -> tensor<16xf32>
  return %c : tensor<16xf32>
}

// -----

// Regression: a constant that both hoisted and remaining ops use is cloned
// into the preparation and stays in place (erasing the dead ones once made
// the pass walk a dangling iterator).
// CHECK-LABEL: func.func @shared_constant
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK-NOT: tensor.empty
// CHECK: tensor.dim %{{.+}}, %[[C0]]
// CHECK-LABEL: func.func @shared_constant__prepare_weights
// CHECK: tensor.empty() : tensor<2x256x32xf32>
// CHECK: linalg.transpose
func.func @shared_constant(%x: tensor<?x16xf32>, %t: tensor<2x256x32xf32> {mnemo.weight})
    -> (tensor<?x32xf32>, index) {
  %c0 = arith.constant 0 : index
  %e = tensor.empty() : tensor<2x256x32xf32>
  %p = linalg.transpose ins(%t : tensor<2x256x32xf32>) outs(%e : tensor<2x256x32xf32>) permutation = [0, 1, 2]
  %y = mnemo.hash_lookup %x, %p weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
  %d = tensor.dim %x, %c0 : tensor<?x16xf32>
  return %y, %d : tensor<?x32xf32>, index
}
