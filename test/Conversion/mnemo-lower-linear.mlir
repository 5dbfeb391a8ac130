// RUN: mnemo-opt %s --mnemo-lower-linear="vector-width=8 l2-cache-bytes=640" --canonicalize --cse | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-linear="vector-width=16" --canonicalize --cse | FileCheck %s --check-prefix=WIDE

// f16 weights [7, 20]: tiles of 4 tokens (whose inputs, 80 bytes each,
// fill half of the 640-byte L2); in each, two blocks of 4 output rows (the
// second's last row repeats row 6) over the threads. A block's tokens go in
// groups of 2 (with 8 lanes), then one at a time. Per group, each row's dot
// products with both tokens in vectors of 8 (two, then a tail of 4), each
// weight vector loaded and widened once for the two tokens, and for the
// tile's first group the rows 16 KiB further (408 rows of 40 bytes, clamped
// to the last) prefetched into L2; then reductions across lanes, the bias,
// and one store per row and token.
// CHECK-LABEL: func.func @head_f16
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x20xf32>, %[[W:[^:]+]]: tensor<7x20xf16>
// CHECK-DAG: %[[XB:.+]] = bufferization.to_memref %[[X]] read_only : memref<?x20xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[WB:.+]] = bufferization.to_memref %[[W]] read_only : memref<7x20xf16>
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x7xf32>
// CHECK: scf.for %[[TILE:.+]] = %c0 to %{{.+}} step %c4 {
// CHECK:   scf.parallel (%[[BLOCK:.+]]) = (%c0) to (%c2) step (%c1)
// CHECK:     arith.minsi %{{.+}}, %c6 : index
// CHECK:     arith.addi %{{.+}}, %c408 : index
// CHECK:     %[[REM:.+]] = arith.remui %{{.+}}, %c2 : index
// CHECK:     %[[GROUPS_END:.+]] = arith.subi %{{.+}}, %[[REM]] : index
// CHECK:     %[[FIRST_END:.+]] = arith.minsi %[[GROUPS_END]], %{{.+}} : index
// CHECK:     scf.for %[[T:.+]] = %[[TILE]] to %[[FIRST_END]] step %c2
// CHECK:       %[[T1:.+]] = arith.addi %[[T]], %c1 : index
// CHECK:       %[[ACC:.+]]:8 = scf.for %[[I:.+]] = %c0 to %c16 step %c8 iter_args
// CHECK:         %[[XV0:.+]] = vector.load %[[XB]][%[[T]], %[[I]]] : {{.*}}, vector<8xf32>
// CHECK:         %[[XV1:.+]] = vector.load %[[XB]][%[[T1]], %[[I]]] : {{.*}}, vector<8xf32>
// CHECK-COUNT-4: memref.prefetch %[[WB]][%{{.+}}, %[[I]]], read, locality<2>, data : memref<7x20xf16>
// CHECK:         %[[WV:.+]] = vector.load %[[WB]][%{{.+}}, %[[I]]] : memref<7x20xf16>, vector<8xf16>
// CHECK:         %[[WF:.+]] = arith.extf %[[WV]] : vector<8xf16> to vector<8xf32>
// CHECK:         vector.fma %[[WF]], %[[XV0]], %{{.+}} : vector<8xf32>
// CHECK:         vector.fma %[[WF]], %[[XV1]], %{{.+}} : vector<8xf32>
// CHECK-COUNT-3: vector.load %[[WB]]
// CHECK:         scf.yield
// The group's 8 accumulators are reduced together, in the halving order
// of a single vector's reduction: lanes i and i + 4 of pairs of them in one
// vector, then i and i + 2, then i and i + 1, one lane per accumulator.
// CHECK:       %[[L0:.+]] = vector.shuffle %[[ACC]]#0, %[[ACC]]#1 [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK:       %[[H0:.+]] = vector.shuffle %[[ACC]]#0, %[[ACC]]#1 [4, 5, 6, 7, 12, 13, 14, 15]
// CHECK:       %[[S0:.+]] = arith.addf %[[L0]], %[[H0]] : vector<8xf32>
// CHECK-COUNT-3: vector.shuffle %[[ACC]]#{{.}}, %[[ACC]]#{{.}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK:       %[[L1:.+]] = vector.shuffle %[[S0]], %{{.+}} [0, 1, 4, 5, 8, 9, 12, 13]
// CHECK:       %[[H1:.+]] = vector.shuffle %[[S0]], %{{.+}} [2, 3, 6, 7, 10, 11, 14, 15]
// CHECK:       %[[S1:.+]] = arith.addf %[[L1]], %[[H1]] : vector<8xf32>
// CHECK:       %[[L2:.+]] = vector.shuffle %[[S1]], %{{.+}} [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK:       %[[H2:.+]] = vector.shuffle %[[S1]], %{{.+}} [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK:       %[[S2:.+]] = arith.addf %[[L2]], %[[H2]] : vector<8xf32>
// CHECK:       vector.extract %[[S2]][0] : f32 from vector<8xf32>
// CHECK-COUNT-7: vector.extract %[[S2]]
// CHECK-NOT:   vector.reduction
// CHECK:       vector.load %[[XB]][%[[T]], %c16] : {{.*}}, vector<4xf32>
// CHECK:       vector.load %[[WB]][%{{.+}}, %c16] : memref<7x20xf16>, vector<4xf16>
// CHECK:       vector.shuffle %{{.+}}, %{{.+}} [0, 1, 4, 5] : vector<4xf32>, vector<4xf32>
// CHECK:       tensor.extract %{{.+}}[%{{.+}}] : tensor<7xf32>
// CHECK:       memref.store %{{.+}}, %[[OUT]][%[[T]], %{{.+}}] : memref<?x7xf32>
// CHECK:       memref.store %{{.+}}, %[[OUT]][%[[T1]], %{{.+}}] : memref<?x7xf32>
// CHECK-COUNT-6: memref.store
// The tile's other groups find the block in L1: no prefetches.
// CHECK:     scf.for %{{.+}} = %[[FIRST_END]] to %[[GROUPS_END]] step %c2
// CHECK-NOT:   memref.prefetch
// CHECK:       vector.fma
// CHECK-NOT:   memref.prefetch
// The tokens after the last group, one at a time; the first prefetches if
// the tile had no group.
// CHECK:     %[[NO_GROUP:.+]] = arith.cmpi eq, %[[GROUPS_END]], %[[TILE]] : index
// CHECK:     %[[SINGLE_END:.+]] = arith.select %[[NO_GROUP]]
// CHECK:     scf.for %{{.+}} = %[[GROUPS_END]] to %[[SINGLE_END]] step %c1
// CHECK:       memref.prefetch
// A single token's 4 accumulators are fewer than the lanes: each is
// reduced alone.
// CHECK:       vector.reduction <add>, %{{.+}} : vector<8xf32> into f32
// CHECK:     scf.for %{{.+}} = %[[SINGLE_END]] to %{{.+}} step %c1
// CHECK-NOT:   memref.prefetch
// CHECK:       vector.fma
// CHECK-NOT:   memref.prefetch
// CHECK: return
// CHECK-NOT: mnemo.linear

// With 16 lanes: groups of 4 tokens, whose inputs' tile fills half of the
// default 512 KiB L2 (3276 rows of 80 bytes, rounded down to whole groups).
// WIDE-LABEL: func.func @head_f16
// WIDE: scf.for %{{.+}} = %c0 to %{{.+}} step %c3276 {
// WIDE: arith.remui %{{.+}}, %c4 : index
// WIDE: scf.for %{{.+}} step %c4 {
// WIDE-COUNT-16: vector.fma %{{.+}} : vector<16xf32>
// WIDE: vector.reduction
func.func @head_f16(%x: tensor<?x20xf32>, %w: tensor<7x20xf16>, %b: tensor<7xf32>) -> tensor<?x7xf32> {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x20xf32>, tensor<7x20xf16>, tensor<7xf32>) -> tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}

// bf16 weights without bias: the same loops, widened from bf16.
// CHECK-LABEL: func.func @head_bf16
// CHECK: vector.load %{{.+}} : memref<4x16xbf16>, vector<8xbf16>
// CHECK: arith.extf %{{.+}} : vector<8xbf16> to vector<8xf32>
// CHECK-NOT: mnemo.linear
func.func @head_bf16(%x: tensor<1x16xf32>, %w: tensor<4x16xbf16>) -> tensor<1x4xf32> {
  %y = mnemo.linear %x, %w : (tensor<1x16xf32>, tensor<4x16xbf16>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// f32 weights are left to -mnemo-lower-to-runtime (BLAS).
// CHECK-LABEL: func.func @dense_f32
// CHECK: mnemo.linear
// CHECK-NOT: scf.parallel
func.func @dense_f32(%x: tensor<?x16xf32>, %w: tensor<4x16xf32>) -> tensor<?x4xf32> {
  %y = mnemo.linear %x, %w : (tensor<?x16xf32>, tensor<4x16xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// Rows of no values: every output is the bias.
// CHECK-LABEL: func.func @empty_rows
// CHECK-NOT: vector.fma
// CHECK: %[[B:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<2xf32>
// CHECK: arith.addf %[[B]], %cst
// CHECK-NOT: mnemo.linear
func.func @empty_rows(%x: tensor<3x0xf32>, %w: tensor<2x0xf16>, %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %y = mnemo.linear %x, %w bias %b : (tensor<3x0xf32>, tensor<2x0xf16>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
