// RUN: mnemo-opt %s --pass-pipeline='builtin.module(func.func(gpu-async-region,mnemo-elide-host-waits))' | FileCheck %s
// RUN: mnemo-opt %s --pass-pipeline='builtin.module(func.func(gpu-async-region))' | FileCheck %s --check-prefix=ASYNC

// A host function with a loop of launches (attention's chunks of queries):
// -gpu-async-region waits on the host before the loop, in every iteration
// and before the return (ASYNC); only the last wait is left, so the host
// queues every launch without waiting for the GPU in between.
// ASYNC-LABEL: func.func @chunks
// ASYNC-COUNT-3: gpu.wait [
// CHECK-LABEL: func.func @chunks
// CHECK:         %[[T0:.+]] = gpu.wait async
// CHECK:         %[[A:.+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]]
// CHECK:         gpu.launch_func async [%[[T1]]] @mnemo_kernels::@k
// CHECK-NOT:     gpu.wait [
// CHECK:         scf.for
// CHECK:           %[[T2:.+]] = gpu.wait async
// CHECK:           gpu.launch_func async [%[[T2]]] @mnemo_kernels::@k
// CHECK-NOT:       gpu.wait [
// CHECK:         }
// CHECK:         %[[T3:.+]] = gpu.wait async
// CHECK:         %[[T4:.+]] = gpu.dealloc async [%[[T3]]] %[[A]]
// CHECK-NEXT:    gpu.wait [%[[T4]]]
// CHECK-NEXT:    return
module attributes {gpu.container_module} {
  func.func @chunks(%x: memref<?x8xf32>, %y: memref<?x8xf32>, %chunks: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?x8xf32>
    %tmp = gpu.alloc (%n) : memref<?x8xf32>
    gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?x8xf32>, %tmp : memref<?x8xf32>)
    scf.for %i = %c0 to %chunks step %c1 {
      gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%tmp : memref<?x8xf32>, %y : memref<?x8xf32>)
    }
    gpu.dealloc %tmp : memref<?x8xf32>
    return
  }
  gpu.module @mnemo_kernels {
    gpu.func @k(%a: memref<?x8xf32>, %b: memref<?x8xf32>) kernel {
      gpu.return
    }
  }
}
