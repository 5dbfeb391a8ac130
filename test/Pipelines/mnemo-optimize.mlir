// The target-independent pipeline: canonicalization drops zero biases
// before fusion, the siblings fuse, and CSE merges the duplicate dims.
// RUN: mnemo-opt %s -mnemo-optimize | FileCheck %s

// CHECK-LABEL: func.func @attention_inputs
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[G:.+]]: tensor<16xf32>, %[[TQ:.+]]: tensor<2x256x32xf32>, %[[TK:.+]]: tensor<2x256x32xf32>, %[[TV:.+]]: tensor<2x256x32xf32>)
// CHECK: %[[U:.+]] = mnemo.rms_norm %[[X]], %[[G]]
// CHECK: %[[T:.+]] = tensor.concat dim(2) %[[TQ]], %[[TK]], %[[TV]]
// CHECK-NOT: tensor.concat
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %[[U]], %[[T]] weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x96xf32>) -> tensor<?x96xf32>
// CHECK-COUNT-3: tensor.extract_slice %[[Y]]
// CHECK-NOT: mnemo.hash_lookup
func.func @attention_inputs(%x: tensor<?x16xf32>, %g: tensor<16xf32>,
                            %tq: tensor<2x256x32xf32>, %tk: tensor<2x256x32xf32>,
                            %tv: tensor<2x256x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %zero = arith.constant dense<0.0> : tensor<32xf32>
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %q = mnemo.hash_lookup %u, %tq bias %zero weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %k = mnemo.hash_lookup %u, %tk bias %zero weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %v = mnemo.hash_lookup %u, %tv weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}
