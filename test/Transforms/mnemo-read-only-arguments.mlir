// RUN: mnemo-opt %s --mnemo-read-only-arguments | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-to-loops | FileCheck %s --check-prefix=LOOPS
// RUN: mnemo-opt %s --mnemo-lower-to-gpu | FileCheck %s --check-prefix=GPU

// Tensor arguments become read-only for bufferization unless they say
// otherwise; other arguments and declarations are left alone.
// CHECK-LABEL: func.func @twice(
// CHECK-SAME: %{{.+}}: tensor<?x16xf32> {bufferization.writable = false}
// CHECK-LABEL: func.func @marked(
// CHECK-SAME: %{{.+}}: tensor<4xf32> {bufferization.writable = true}, %{{.+}}: index)
// CHECK-LABEL: func.func private @external(tensor<4xf32>)
//
// A result computed from the arguments alone is written to the caller's
// out-parameter, not in place in the argument (which MLIR 19's
// -buffer-results-to-out-params crashed on when the argument was returned).
// LOOPS-LABEL: func.func @twice(
// LOOPS-SAME: %[[ARG:[^:]+]]: memref<?x16xf32>, %[[OUT:[^:]+]]: memref<?x16xf32>)
// LOOPS: scf.for
// LOOPS:   scf.for
// LOOPS:     memref.load %[[ARG]]
// LOOPS:     memref.store %{{.+}}, %[[OUT]]
// LOOPS-NOT: memref.store %{{.+}}, %[[ARG]]
// GPU-LABEL: func.func @twice(
// GPU: gpu.launch_func
func.func @twice(%a: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %b = arith.addf %a, %a : tensor<?x16xf32>
  return %b : tensor<?x16xf32>
}

func.func @marked(%a: tensor<4xf32> {bufferization.writable = true}, %i: index) -> f32 {
  %v = tensor.extract %a[%i] : tensor<4xf32>
  return %v : f32
}

func.func private @external(tensor<4xf32>)
