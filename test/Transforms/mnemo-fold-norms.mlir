// RUN: mnemo-opt %s -split-input-file -mnemo-fold-norms | FileCheck %s

// An RMSNorm that only feeds a Memory Layer becomes part of its hashing.
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[G:.+]]: tensor<16xf32>, %[[T:.+]]: tensor<2x256x8xf32>)
// CHECK-NOT: mnemo.rms_norm
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %[[X]] normalized by rms_norm(%[[G]]) eps 9.99999993E-9, %[[T]] weighting<l1_prob>
// CHECK-SAME: : (tensor<?x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
// CHECK: return %[[Y]]
func.func @rms_norm(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<?x8xf32> {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %y = mnemo.hash_lookup %u, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A LayerNorm (with its bias) feeding two lookups is folded into both; the
// lookups keep their own bias.
// CHECK-LABEL: func.func @layer_norm_two_users
// CHECK-SAME: (%[[X:.+]]: tensor<4x16xf32>, %[[G:.+]]: tensor<16xf32>, %[[B:.+]]: tensor<16xf32>, %[[T:.+]]: tensor<4x16x8xf16>, %[[TB:.+]]: tensor<8xf32>)
// CHECK-NOT: mnemo.layer_norm
// CHECK: mnemo.hash_lookup %[[X]] normalized by layer_norm(%[[G]], %[[B]]) eps 9.99999974E-6, %[[T]] bias %[[TB]] weighting<prob>
// CHECK: mnemo.hash_lookup %[[X]] normalized by layer_norm(%[[G]], %[[B]]) eps 9.99999974E-6, %[[T]] weighting<prob> temperature 2.000000e+00
func.func @layer_norm_two_users(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>,
                                %t: tensor<4x16x8xf16>, %tb: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %u = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %y = mnemo.hash_lookup %u, %t bias %tb weighting<prob> : (tensor<4x16xf32>, tensor<4x16x8xf16>, tensor<8xf32>) -> tensor<4x8xf32>
  %z = mnemo.hash_lookup %u, %t weighting<prob> temperature 2.0 : (tensor<4x16xf32>, tensor<4x16x8xf16>) -> tensor<4x8xf32>
  return %y, %z : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A norm with another user must be computed anyway: it is not folded.
// CHECK-LABEL: func.func @norm_also_returned
// CHECK: %[[U:.+]] = mnemo.rms_norm
// CHECK: mnemo.hash_lookup %[[U]], %{{.+}} weighting<l1_prob>
// CHECK: return %[[U]]
func.func @norm_also_returned(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>)
    -> (tensor<?x16xf32>, tensor<?x8xf32>) {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %y = mnemo.hash_lookup %u, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %u, %y : tensor<?x16xf32>, tensor<?x8xf32>
}

// -----

// A norm used as a table or bias (not as the input) is not folded.
// CHECK-LABEL: func.func @norm_as_bias
// CHECK: %[[U:.+]] = mnemo.rms_norm
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} bias %{{.+}} weighting<l1_prob>
func.func @norm_as_bias(%x: tensor<1x8xf32>, %g: tensor<8xf32>, %t: tensor<1x256x8xf32>,
                        %raw: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %u = mnemo.rms_norm %raw, %g eps 1.0e-8 : tensor<1x8xf32>, tensor<8xf32> -> tensor<1x8xf32>
  %c = tensor.collapse_shape %u [[0, 1]] : tensor<1x8xf32> into tensor<8xf32>
  %y = mnemo.hash_lookup %x, %t bias %c weighting<l1_prob> : (tensor<1x8xf32>, tensor<1x256x8xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
