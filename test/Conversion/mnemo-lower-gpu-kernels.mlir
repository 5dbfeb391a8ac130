// RUN: mnemo-opt %s --mnemo-lower-gpu-kernels --canonicalize --cse --split-input-file --verify-diagnostics | FileCheck %s

// The Memory Layer as two grids of GPU threads: (table, token) hashes a
// chunk of tau = 4 values into a scratch bucket (element 0 the most
// significant bit, set for z >= 0) and weight (l1_prob: sum |z| over the
// product of 1 + exp(-2|z|)); (token, column) sums the K weighted rows,
// widened from f16, on top of the bias. Scalar code, no allocation inside
// the loops.
// CHECK-LABEL: func.func @lookup
// CHECK-DAG: %[[BUCKETS:.+]] = memref.alloc(%{{.+}}) {{.+}} : memref<?x4xindex>
// CHECK-DAG: %[[WEIGHTS:.+]] = memref.alloc(%{{.+}}) {{.+}} : memref<?x4xf32>
// CHECK: scf.parallel (%[[TABLE:.+]], %[[TOKEN:.+]]) = (%c0, %c0) to (%c4, %{{.+}})
// CHECK:   scf.for {{.+}} -> (index, f32, f32)
// CHECK:     arith.cmpf oge
// CHECK:     arith.shli %c1
// CHECK:     math.exp
// CHECK:   memref.store %{{.+}}, %[[BUCKETS]][%[[TOKEN]], %[[TABLE]]]
// CHECK:   arith.divf
// CHECK:   memref.store %{{.+}}, %[[WEIGHTS]][%[[TOKEN]], %[[TABLE]]]
// CHECK: scf.parallel (%[[T:.+]], %[[C:.+]]) = (%c0, %c0) to (%{{.+}}, %c32)
// CHECK:   %[[BIAS:.+]] = tensor.extract %{{.+}}[%[[C]]] : tensor<32xf32>
// CHECK:   scf.for %[[K:.+]] = %c0 to %c4 {{.+}} iter_args(%{{.+}} = %[[BIAS]])
// CHECK:     %[[ROW:.+]] = memref.load %[[BUCKETS]][%[[T]], %[[K]]]
// CHECK:     tensor.extract %{{.+}}[%[[K]], %[[ROW]], %[[C]]] : tensor<4x16x32xf16>
// CHECK:     arith.extf
// CHECK-NOT: memref.alloc
// CHECK: memref.dealloc %[[BUCKETS]]
// CHECK: memref.dealloc %[[WEIGHTS]]
func.func @lookup(%x: tensor<?x16xf32>, %t: tensor<4x16x32xf16>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<l1_prob> : (tensor<?x16xf32>, tensor<4x16x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Memsizer's decoding step: one thread per (sequence, column) updates its
// column of the [k, d] memory and reads it out, scaled by 1/sqrt(count + 1).
// CHECK-LABEL: func.func @step
// CHECK: scf.parallel (%[[B:.+]], %[[C:.+]]) = (%c0, %c0) to (%c3, %c16)
// CHECK:   scf.for %[[S:.+]] = %c0 to %c4 {{.+}} -> (f32)
// CHECK:     memref.store %{{.+}}, %{{.+}}[%[[B]], %[[S]], %[[C]]] : memref<3x4x16xf32>
// CHECK:   math.sqrt
// CHECK:   arith.divf %cst{{.*}}, %{{.+}}
func.func @step(%alpha: tensor<3x4xf32>, %key: tensor<3x4xf32>,
                %value: tensor<3x16xf32>, %state: tensor<3x4x16xf32>,
                %count: tensor<3xi64>) -> (tensor<3x16xf32>, tensor<3x4x16xf32>) {
  %y, %s = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<3x4x16xf32>, tensor<3xi64>
      -> tensor<3x16xf32>, tensor<3x4x16xf32>
  return %y, %s : tensor<3x16xf32>, tensor<3x4x16xf32>
}

// -----

// Norms: one thread per row computes the statistics (the unit dimension
// folds away), then one per element normalizes.
// CHECK-LABEL: func.func @norm
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%{{.+}})
// CHECK:   scf.for
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%{{.+}}, %c8)
func.func @norm(%x: tensor<?x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @folded(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %t: tensor<4x16x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{the GPU kernels take lookups without a folded norm or packed tables}}
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 1.0e-8, %t weighting<prob> : (tensor<?x16xf32>, tensor<16xf32>, tensor<4x16x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
