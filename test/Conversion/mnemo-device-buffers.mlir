// RUN: mnemo-opt %s --split-input-file --verify-diagnostics --mnemo-device-buffers | FileCheck %s

// A host function's intermediate buffers become device allocations; shapes
// and launches stay as they are.
// CHECK-LABEL: func.func @host
// CHECK:   %[[N:.+]] = memref.dim %arg0
// CHECK:   %[[A:.+]] = gpu.alloc  (%[[N]]) : memref<?x8xf32>
// CHECK:   gpu.launch_func  @mnemo_kernels::@k {{.*}} args(%arg0 : memref<?x8xf32>, %[[A]] : memref<?x8xf32>)
// CHECK:   gpu.launch_func  @mnemo_kernels::@k {{.*}} args(%[[A]] : memref<?x8xf32>, %arg1 : memref<?x8xf32>)
// CHECK:   gpu.dealloc  %[[A]] : memref<?x8xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
module attributes {gpu.container_module} {
  func.func @host(%x: memref<?x8xf32>, %y: memref<?x8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?x8xf32>
    %tmp = memref.alloc(%n) {alignment = 64 : i64} : memref<?x8xf32>
    gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?x8xf32>, %tmp : memref<?x8xf32>)
    gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%tmp : memref<?x8xf32>, %y : memref<?x8xf32>)
    memref.dealloc %tmp : memref<?x8xf32>
    return
  }
  gpu.module @mnemo_kernels {
    gpu.func @k(%a: memref<?x8xf32>, %b: memref<?x8xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Host code that reads or writes a buffer's contents would dereference a
// device address: an error, not a crash on the GPU.
module attributes {gpu.container_module} {
  func.func @host(%positions: memref<?xi64>, %y: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    // expected-error @below {{'memref.load' op accesses a buffer on the host; host functions of the GPU target may only allocate buffers and launch kernels}}
    %p = memref.load %positions[%c0] : memref<?xi64>
    %f = arith.sitofp %p : i64 to f32
    // expected-error @below {{'memref.store' op accesses a buffer on the host}}
    memref.store %f, %y[%c0] : memref<4xf32>
    return
  }
}
