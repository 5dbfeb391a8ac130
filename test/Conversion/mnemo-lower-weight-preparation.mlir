// RUN: mnemo-opt %s -mnemo-lower-weight-preparation | FileCheck %s
// RUN: mnemo-opt %s -mnemo-lower-weight-preparation="min-elements=16" | FileCheck %s --check-prefix=ALL

// The packing of a table in a weight-preparation function becomes loops
// whose outermost loop (over column tiles) is parallel; a bias copy below
// min-elements, and every op of other functions, stay linalg ops.
// CHECK-LABEL: func.func @layer(
// CHECK: linalg.copy
func.func @layer(%x: memref<?x16xf32>, %t: memref<2x256x512xf32> {mnemo.weight},
                 %b: memref<512xf32> {mnemo.weight},
                 %packed: memref<32x2x256x16xf32> {mnemo.weight},
                 %bias: memref<512xf32> {mnemo.weight})
    attributes {mnemo.prepare_weights = @layer__prepare_weights} {
  %scratch = memref.alloc() : memref<512xf32>
  linalg.copy ins(%bias : memref<512xf32>) outs(%scratch : memref<512xf32>)
  memref.dealloc %scratch : memref<512xf32>
  return
}

// CHECK-LABEL: func.func @layer__prepare_weights
// CHECK-SAME: (%[[T:.+]]: memref<2x256x512xf32>, %[[B:.+]]: memref<512xf32>, %[[P:.+]]: memref<32x2x256x16xf32>, %[[BIAS:.+]]: memref<512xf32>)
// CHECK: %[[S:.+]] = memref.expand_shape %[[T]]
// CHECK: scf.parallel (%[[TILE:.+]]) = (%{{.+}}) to (%c32) step (%{{.+}}) {
// CHECK-NEXT: scf.for %[[K:.+]] = %{{.+}} to %c2
// CHECK-NEXT: scf.for %[[R:.+]] = %{{.+}} to %c256
// CHECK-NEXT: scf.for %[[C:.+]] = %{{.+}} to %c16
// CHECK-NEXT: %[[V:.+]] = memref.load %[[S]][%[[K]], %[[R]], %[[TILE]], %[[C]]]
// CHECK-NEXT: memref.store %[[V]], %[[P]][%[[TILE]], %[[K]], %[[R]], %[[C]]]
// CHECK: linalg.copy ins(%[[B]]
// CHECK-NOT: scf.parallel

// ALL-LABEL: func.func @layer__prepare_weights
// ALL: scf.parallel
// ALL: scf.parallel (%{{.+}}) = (%{{.+}}) to (%c512)
// ALL-NEXT: memref.load %{{.+}}
// ALL-NEXT: memref.store
func.func @layer__prepare_weights(%t: memref<2x256x512xf32>, %b: memref<512xf32>,
                                  %packed: memref<32x2x256x16xf32>,
                                  %bias: memref<512xf32>) {
  %split = memref.expand_shape %t [[0], [1], [2, 3]] output_shape [2, 256, 32, 16]
      : memref<2x256x512xf32> into memref<2x256x32x16xf32>
  linalg.transpose ins(%split : memref<2x256x32x16xf32>)
                   outs(%packed : memref<32x2x256x16xf32>) permutation = [2, 0, 1, 3]
  linalg.copy ins(%b : memref<512xf32>) outs(%bias : memref<512xf32>)
  return
}
