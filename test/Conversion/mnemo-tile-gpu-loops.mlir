// RUN: mnemo-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mnemo-tile-gpu-loops{threads-per-block=64}))" | FileCheck %s

// A 2-D loop: blocks of 1 x 64 iterations; a 1-D loop (per-row kernels):
// blocks of 64 too. Out-of-range threads are guarded.
// CHECK-LABEL: func.func @tile
// CHECK: %[[ONE:.+]] = arith.muli %c1{{.*}}, %c1
// CHECK: %[[WIDE:.+]] = arith.muli %c1{{.*}}, %c64
// CHECK: scf.parallel ({{.+}}, {{.+}}) = (%c0, %c0) to (%{{.+}}, %c100) step (%[[ONE]], %[[WIDE]])
// CHECK:   scf.parallel ({{.+}}, {{.+}}) = ({{.+}}) to (%[[ONE]], %[[WIDE]]) step ({{.+}})
// CHECK:     scf.if
// CHECK: %[[ROWS:.+]] = arith.muli %c1{{.*}}, %c64
// CHECK: scf.parallel ({{.+}}) = (%c0) to (%{{.+}}) step (%[[ROWS]])
// CHECK:   scf.parallel ({{.+}}) = ({{.+}}) to (%[[ROWS]]) step ({{.+}})
// CHECK:     scf.if
func.func @tile(%a: memref<?x100xf32>, %b: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %n = memref.dim %a, %c0 : memref<?x100xf32>
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c100) step (%c1, %c1) {
    memref.store %zero, %a[%i, %j] : memref<?x100xf32>
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %b[%i] : memref<?xf32>
  }
  return
}

// -----

// Three dimensions would put the block's threads on z, which holds at most
// 64: the outer two are collapsed into one first (n x 4 iterations), then
// tiled as a 2-D loop.
// CHECK-LABEL: func.func @cube
// CHECK: %[[OUTER:.+]] = arith.muli %{{.+}}, %c4
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0{{.*}}, %c0{{.*}}) to (%[[OUTER]], %{{.+}}) step (%{{.+}}, %[[WIDE:[^)]+]])
// CHECK:   scf.parallel ({{.+}}, {{.+}}) = ({{.+}}) to ({{.+}}, %[[WIDE]])
// CHECK:     scf.if
// CHECK:       %[[J:.+]] = arith.remsi %{{.+}}, %c4
// CHECK:       %[[I:.+]] = arith.divsi %{{.+}}, %c4
// CHECK:       memref.store %{{.+}}, %{{.+}}[%[[I]], %[[J]], %{{.+}}]
// CHECK-NOT: scf.parallel ({{[^,)]+}}, {{[^,)]+}}, {{[^,)]+}})
func.func @cube(%a: memref<?x4x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %n = memref.dim %a, %c0 : memref<?x4x100xf32>
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%n, %c4, %c100) step (%c1, %c1, %c1) {
    memref.store %zero, %a[%i, %j, %k] : memref<?x4x100xf32>
  }
  return
}
