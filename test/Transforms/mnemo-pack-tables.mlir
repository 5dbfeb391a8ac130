// RUN: mnemo-opt %s -split-input-file -mnemo-pack-tables | FileCheck %s

// [K, 2^tau, h] -> [h/C, K, 2^tau, C]: a split of h, then a transpose that
// puts the column tile first.
// CHECK-LABEL: func.func @two_column_tiles
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[T:.+]]: tensor<2x256x64xf16>)
// CHECK: %[[SPLIT:.+]] = tensor.expand_shape %[[T]] {{\[}}[0], [1], [2, 3]] output_shape [2, 256, 2, 32] : tensor<2x256x64xf16> into tensor<2x256x2x32xf16>
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<2x2x256x32xf16>
// CHECK: %[[PACKED:.+]] = linalg.transpose ins(%[[SPLIT]] : tensor<2x256x2x32xf16>) outs(%[[INIT]] : tensor<2x2x256x32xf16>) permutation = [2, 0, 1, 3]
// CHECK: mnemo.hash_lookup %[[X]], %[[PACKED]] weighting<l1_prob>
// CHECK-SAME: : (tensor<?x16xf32>, tensor<2x2x256x32xf16>) -> tensor<?x64xf32>
func.func @two_column_tiles(%x: tensor<?x16xf32>, %t: tensor<2x256x64xf16>) -> tensor<?x64xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 32, tables = 2, prefetch = 1, parallel = columns>}
      : (tensor<?x16xf32>, tensor<2x256x64xf16>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// One column tile: the layout is already right, a reshape suffices.
// CHECK-LABEL: func.func @one_column_tile
// CHECK: %[[R:.+]] = tensor.expand_shape %{{.+}} {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 256, 64] : tensor<2x256x64xf16> into tensor<1x2x256x64xf16>
// CHECK-NOT: linalg.transpose
// CHECK: mnemo.hash_lookup %{{.+}}, %[[R]] weighting<l1_prob>
func.func @one_column_tile(%x: tensor<?x16xf32>, %t: tensor<2x256x64xf16>) -> tensor<?x64xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 64, tables = 2, prefetch = 1, parallel = tokens>}
      : (tensor<?x16xf32>, tensor<2x256x64xf16>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Untiled lookups keep their layout.
// CHECK-LABEL: func.func @untiled
// CHECK-NOT: tensor.expand_shape
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x64xf16>)
func.func @untiled(%x: tensor<?x16xf32>, %t: tensor<2x256x64xf16>) -> tensor<?x64xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x64xf16>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Decoding (few tokens): each row is read once, in runs of a column tile
// that are contiguous enough as stored; packing would copy the tables.
// CHECK-LABEL: func.func @few_tokens
// CHECK-NOT: tensor.expand_shape
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<l1_prob> {tiling = {{.+}}} : (tensor<1x16xf32>, tensor<2x256x64xf16>)
func.func @few_tokens(%x: tensor<1x16xf32>, %t: tensor<2x256x64xf16>) -> tensor<1x64xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 1, columns = 32, tables = 2, prefetch = 0, parallel = columns>}
      : (tensor<1x16xf32>, tensor<2x256x64xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// Fused tables (concatenated along h): each part is packed on its own and
// the packed parts are concatenated along the column tiles. The tables are
// never copied in their stored layout.
// CHECK-LABEL: func.func @concatenated
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[A:.+]]: tensor<2x256x64xf16>, %[[B:.+]]: tensor<2x256x32xf16>)
// CHECK: %[[SA:.+]] = tensor.expand_shape %[[A]] {{\[}}[0], [1], [2, 3]] output_shape [2, 256, 2, 32]
// CHECK: %[[PA:.+]] = linalg.transpose ins(%[[SA]] : tensor<2x256x2x32xf16>) outs(%{{.+}} : tensor<2x2x256x32xf16>) permutation = [2, 0, 1, 3]
// CHECK: %[[PB:.+]] = tensor.expand_shape %[[B]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 256, 32]
// CHECK: %[[P:.+]] = tensor.concat dim(0) %[[PA]], %[[PB]] : (tensor<2x2x256x32xf16>, tensor<1x2x256x32xf16>) -> tensor<3x2x256x32xf16>
// CHECK: mnemo.hash_lookup %[[X]], %[[P]] weighting<l1_prob>
// CHECK-SAME: : (tensor<?x16xf32>, tensor<3x2x256x32xf16>) -> tensor<?x96xf32>
func.func @concatenated(%x: tensor<?x16xf32>, %a: tensor<2x256x64xf16>, %b: tensor<2x256x32xf16>) -> tensor<?x96xf32> {
  %t = tensor.concat dim(2) %a, %b : (tensor<2x256x64xf16>, tensor<2x256x32xf16>) -> tensor<2x256x96xf16>
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 32, tables = 2, prefetch = 1, parallel = columns>}
      : (tensor<?x16xf32>, tensor<2x256x96xf16>) -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

// -----

// A part narrower than a column tile: the concatenation is packed whole.
// CHECK-LABEL: func.func @concatenated_unaligned
// CHECK: %[[T:.+]] = tensor.concat dim(2)
// CHECK: %[[S:.+]] = tensor.expand_shape %[[T]] {{\[}}[0], [1], [2, 3]] output_shape [2, 256, 3, 16]
// CHECK: linalg.transpose ins(%[[S]]
// CHECK-NOT: tensor.concat
func.func @concatenated_unaligned(%x: tensor<?x16xf32>, %a: tensor<2x256x40xf16>, %b: tensor<2x256x8xf16>) -> tensor<?x48xf32> {
  %t = tensor.concat dim(2) %a, %b : (tensor<2x256x40xf16>, tensor<2x256x8xf16>) -> tensor<2x256x48xf16>
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 16, tables = 2, prefetch = 1, parallel = columns>}
      : (tensor<?x16xf32>, tensor<2x256x48xf16>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}
