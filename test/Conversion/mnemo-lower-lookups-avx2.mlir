// Hashing groups at AVX2's width (8 lanes): the shuffles that reduce a
// group's vectors across one another, as choosePairShuffle picks them.
// RUN: mnemo-opt %s -split-input-file -mnemo-lower-lookups="vector-width=8" -canonicalize | FileCheck %s

// tau = 8: a group is 8 vectors, one chunk each. The first two levels (6
// merges, each shuffling the bits and the products of `prob`) pair even and
// odd lanes within 128-bit blocks (one `shufps` each); the last pairs the low and high halves, which leaves the chunks in
// order: no shuffle after the division.
// CHECK-LABEL: func.func @tau8
// CHECK: scf.parallel
// CHECK-COUNT-24: vector.shuffle %{{.+}}, %{{.+}} [{{0, 2, 8, 10, 4, 6, 12, 14|1, 3, 9, 11, 5, 7, 13, 15}}] : vector<8x{{i32|f32}}>, vector<8x{{i32|f32}}>
// CHECK-NOT: vector.shuffle
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xi32>, vector<8xi32>
// CHECK-NEXT: vector.shuffle %{{.+}}, %{{.+}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xi32>, vector<8xi32>
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK-NEXT: vector.shuffle %{{.+}}, %{{.+}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xf32>, vector<8xf32>
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: %[[W:.+]] = arith.divf
// CHECK-NEXT: vector.store %{{.+}} : memref<1x?x8xi32>, vector<8xi32>
// CHECK-NEXT: vector.store %[[W]], %{{.+}} : memref<1x?x8xf32>, vector<8xf32>
// CHECK: } else {
func.func @tau8(%x: tensor<?x64xf32>, %t: tensor<8x256x8xf32>) -> tensor<?x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 8, tables = 8, prefetch = 0, parallel = columns>}
      : (tensor<?x64xf32>, tensor<8x256x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// tau = 2: a group is 2 vectors of 4 chunks each, merged once within
// 128-bit blocks, which leaves chunks 2, 3 in lanes 4, 5: one shuffle each
// puts the buckets and weights back in order.
// CHECK-LABEL: func.func @tau2
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [0, 2, 8, 10, 4, 6, 12, 14] : vector<8xi32>, vector<8xi32>
// CHECK: %[[W:.+]] = arith.divf
// CHECK-NEXT: %[[B:.+]] = vector.shuffle %{{.+}}, %{{.+}} [0, 1, 4, 5, 2, 3, 6, 7] : vector<8xi32>, vector<8xi32>
// CHECK-NEXT: %[[WO:.+]] = vector.shuffle %[[W]], %[[W]] [0, 1, 4, 5, 2, 3, 6, 7] : vector<8xf32>, vector<8xf32>
// CHECK-NEXT: vector.store %[[B]], %{{.+}} : memref<1x?x8xi32>, vector<8xi32>
// CHECK-NEXT: vector.store %[[WO]], %{{.+}} : memref<1x?x8xf32>, vector<8xf32>
func.func @tau2(%x: tensor<?x16xf32>, %t: tensor<8x4x8xf32>) -> tensor<?x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 8, tables = 8, prefetch = 0, parallel = columns>}
      : (tensor<?x16xf32>, tensor<8x4x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
