// Canonicalization patterns of the mnemo ops.
// RUN: mnemo-opt %s -split-input-file -canonicalize | FileCheck %s

// A bias of zeros is dropped: y + 0 == y.
// CHECK-LABEL: func.func @drop_zero_bias
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[T:.+]]: tensor<2x256x8xf32>)
// CHECK-NOT: arith.constant
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %[[X]], %[[T]] weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
// CHECK: return %[[Y]]
func.func @drop_zero_bias(%x: tensor<?x16xf32>, %t: tensor<2x256x8xf32>) -> tensor<?x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<8xf32>
  %y = mnemo.hash_lookup %x, %t bias %zero weighting<prob>
      : (tensor<?x16xf32>, tensor<2x256x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// -0.0 is a zero too.
// CHECK-LABEL: func.func @drop_negative_zero_bias
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<l1_prob> : (tensor<4x16xf32>, tensor<2x256x8xf16>) -> tensor<4x8xf32>
func.func @drop_negative_zero_bias(%x: tensor<4x16xf32>, %t: tensor<2x256x8xf16>) -> tensor<4x8xf32> {
  %zero = arith.constant dense<-0.0> : tensor<8xf32>
  %y = mnemo.hash_lookup %x, %t bias %zero weighting<l1_prob>
      : (tensor<4x16xf32>, tensor<2x256x8xf16>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A non-zero constant bias, or one not known at compile time, stays.
// CHECK-LABEL: func.func @keep_bias
// CHECK: %[[C:.+]] = arith.constant dense<{{.+}}> : tensor<8xf32>
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} bias %[[C]]
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} bias %{{.+}}
func.func @keep_bias(%x: tensor<4x16xf32>, %t: tensor<2x256x8xf32>, %b: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %c = arith.constant dense<[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]> : tensor<8xf32>
  %y = mnemo.hash_lookup %x, %t bias %c weighting<prob>
      : (tensor<4x16xf32>, tensor<2x256x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %z = mnemo.hash_lookup %x, %t bias %b weighting<prob>
      : (tensor<4x16xf32>, tensor<2x256x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y, %z : tensor<4x8xf32>, tensor<4x8xf32>
}
