// RUN: mnemo-opt %s -split-input-file -mnemo-fuse-lookups | FileCheck %s

// MemoryFormer's Q, K and V: three lookups on one input become one lookup
// over tables concatenated along h, and one slice per original result.
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[TQ:.+]]: tensor<2x256x32xf16>, %[[BQ:.+]]: tensor<32xf32>, %[[TK:.+]]: tensor<2x256x32xf16>, %[[BK:.+]]: tensor<32xf32>, %[[TV:.+]]: tensor<2x256x32xf16>, %[[BV:.+]]: tensor<32xf32>)
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[T:.+]] = tensor.concat dim(2) %[[TQ]], %[[TK]], %[[TV]] : (tensor<2x256x32xf16>, tensor<2x256x32xf16>, tensor<2x256x32xf16>) -> tensor<2x256x96xf16>
// CHECK: %[[B:.+]] = tensor.concat dim(0) %[[BQ]], %[[BK]], %[[BV]] : (tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<96xf32>
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %[[X]], %[[T]] bias %[[B]] weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x96xf16>, tensor<96xf32>) -> tensor<?x96xf32>
// CHECK: %[[N:.+]] = tensor.dim %[[Y]], %[[C0]]
// CHECK: %[[Q:.+]] = tensor.extract_slice %[[Y]][0, 0] [%[[N]], 32] [1, 1]
// CHECK: %[[K:.+]] = tensor.extract_slice %[[Y]][0, 32] [%[[N]], 32] [1, 1]
// CHECK: %[[V:.+]] = tensor.extract_slice %[[Y]][0, 64] [%[[N]], 32] [1, 1]
// CHECK-NOT: mnemo.hash_lookup
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<?x16xf32>,
               %tq: tensor<2x256x32xf16>, %bq: tensor<32xf32>,
               %tk: tensor<2x256x32xf16>, %bk: tensor<32xf32>,
               %tv: tensor<2x256x32xf16>, %bv: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %q = mnemo.hash_lookup %x, %tq bias %bq weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %k = mnemo.hash_lookup %x, %tk bias %bk weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %v = mnemo.hash_lookup %x, %tv bias %bv weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// Different output widths are fine; a member without a bias gets zeros when
// another member has one. Static token counts give static slices.
// CHECK-LABEL: func.func @mixed_bias
// CHECK-DAG: %[[Z:.+]] = arith.constant dense<0.000000e+00> : tensor<8xf32>
// CHECK: %[[T:.+]] = tensor.concat dim(2) %{{.+}}, %{{.+}} : (tensor<4x16x8xf32>, tensor<4x16x24xf32>) -> tensor<4x16x32xf32>
// CHECK: %[[B:.+]] = tensor.concat dim(0) %[[Z]], %{{.+}} : (tensor<8xf32>, tensor<24xf32>) -> tensor<32xf32>
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %{{.+}}, %[[T]] bias %[[B]] weighting<prob> temperature 2.500000e-01
// CHECK: tensor.extract_slice %[[Y]][0, 0] [9, 8] [1, 1] : tensor<9x32xf32> to tensor<9x8xf32>
// CHECK: tensor.extract_slice %[[Y]][0, 8] [9, 24] [1, 1] : tensor<9x32xf32> to tensor<9x24xf32>
func.func @mixed_bias(%x: tensor<9x16xf32>, %ta: tensor<4x16x8xf32>,
                      %tb: tensor<4x16x24xf32>, %bb: tensor<24xf32>)
    -> (tensor<9x8xf32>, tensor<9x24xf32>) {
  %a = mnemo.hash_lookup %x, %ta weighting<prob> temperature 0.25
      : (tensor<9x16xf32>, tensor<4x16x8xf32>) -> tensor<9x8xf32>
  %b = mnemo.hash_lookup %x, %tb bias %bb weighting<prob> temperature 0.25
      : (tensor<9x16xf32>, tensor<4x16x24xf32>, tensor<24xf32>) -> tensor<9x24xf32>
  return %a, %b : tensor<9x8xf32>, tensor<9x24xf32>
}

// -----

// Lookups that would hash differently stay apart: another weighting,
// temperature, table geometry, table element type or input.
// CHECK-LABEL: func.func @not_siblings
// CHECK-NOT: tensor.concat
// CHECK-COUNT-6: mnemo.hash_lookup
// CHECK-NOT: tensor.concat
func.func @not_siblings(%x: tensor<?x16xf32>, %x2: tensor<?x16xf32>,
                        %t: tensor<2x256x8xf32>, %t4: tensor<4x16x8xf32>,
                        %th: tensor<2x256x8xf16>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %1 = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %2 = mnemo.hash_lookup %x, %t weighting<prob> temperature 2.0 : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %3 = mnemo.hash_lookup %x, %t4 weighting<prob> temperature 3.0 : (tensor<?x16xf32>, tensor<4x16x8xf32>) -> tensor<?x8xf32>
  %4 = mnemo.hash_lookup %x, %th weighting<prob> temperature 4.0 : (tensor<?x16xf32>, tensor<2x256x8xf16>) -> tensor<?x8xf32>
  %5 = mnemo.hash_lookup %x2, %t weighting<prob> temperature 5.0 : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A sibling whose tables are produced after the first lookup cannot move
// up to it; the two lookups that can be fused still are.
// CHECK-LABEL: func.func @operand_defined_later
// CHECK: tensor.concat dim(2) %{{.+}}, %{{.+}} : (tensor<2x256x8xf32>, tensor<2x256x8xf32>) -> tensor<2x256x16xf32>
// CHECK: mnemo.hash_lookup {{.+}} -> tensor<200x16xf32>
// CHECK: %[[LATE:.+]] = tensor.empty() : tensor<2x256x8xf32>
// CHECK: mnemo.hash_lookup %{{.+}}, %[[LATE]] {{.+}} -> tensor<200x8xf32>
func.func @operand_defined_later(%x: tensor<200x16xf32>, %t0: tensor<2x256x8xf32>, %t1: tensor<2x256x8xf32>)
    -> (tensor<200x8xf32>, tensor<200x8xf32>, tensor<200x8xf32>) {
  %a = mnemo.hash_lookup %x, %t0 weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  %late = tensor.empty() : tensor<2x256x8xf32>
  %b = mnemo.hash_lookup %x, %late weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  %c = mnemo.hash_lookup %x, %t1 weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  return %a, %b, %c : tensor<200x8xf32>, tensor<200x8xf32>, tensor<200x8xf32>
}

// -----

// Lookups in different blocks are not fused.
// CHECK-LABEL: func.func @different_blocks
// CHECK-NOT: tensor.concat
func.func @different_blocks(%x: tensor<?x16xf32>, %t: tensor<2x256x8xf32>, %c: i1) -> tensor<?x8xf32> {
  %a = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %r = scf.if %c -> tensor<?x8xf32> {
    %b = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
    scf.yield %b : tensor<?x8xf32>
  } else {
    scf.yield %a : tensor<?x8xf32>
  }
  return %r : tensor<?x8xf32>
}

// -----

// Regression: the slices take their row count from the fused result, not
// from the input, so a norm feeding the siblings keeps the lookups as its
// only users and can still be folded into them.
// CHECK-LABEL: func.func @norm_keeps_only_lookup_users
// CHECK: %[[U:.+]] = mnemo.rms_norm
// CHECK: %[[Y:.+]] = mnemo.hash_lookup %[[U]]
// CHECK: tensor.dim %[[Y]]
// CHECK-NOT: tensor.dim %[[U]]
func.func @norm_keeps_only_lookup_users(%x: tensor<?x16xf32>, %g: tensor<16xf32>,
                                        %ta: tensor<2x256x8xf32>, %tb: tensor<2x256x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %a = mnemo.hash_lookup %u, %ta weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %b = mnemo.hash_lookup %u, %tb weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// Decoding (a static count of at most 2^tau / 2 tokens): the lookups stay
// apart, since hashing one token twice costs nothing and the concatenated
// tables would be a copy of them all.
// CHECK-LABEL: func.func @few_tokens
// CHECK-NOT: tensor.concat
// CHECK-COUNT-2: mnemo.hash_lookup
func.func @few_tokens(%x: tensor<1x16xf32>, %t0: tensor<2x256x8xf32>, %t1: tensor<2x256x8xf32>)
    -> (tensor<1x8xf32>, tensor<1x8xf32>) {
  %a = mnemo.hash_lookup %x, %t0 weighting<prob> : (tensor<1x16xf32>, tensor<2x256x8xf32>) -> tensor<1x8xf32>
  %b = mnemo.hash_lookup %x, %t1 weighting<prob> : (tensor<1x16xf32>, tensor<2x256x8xf32>) -> tensor<1x8xf32>
  return %a, %b : tensor<1x8xf32>, tensor<1x8xf32>
}
