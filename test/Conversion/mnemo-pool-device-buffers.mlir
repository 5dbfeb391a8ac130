// RUN: mnemo-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(mnemo-pool-device-buffers,canonicalize))' | FileCheck %s

// Two buffers of a host function become views of one device allocation,
// at offsets rounded up to 256 bytes: [n, 8] f32 at 0, [3] i32 at
// ceil(32 n / 256) * 256, 256 bytes in all for the second. The pool is
// freed before the return, and the buffers' own frees are gone. A buffer
// whose size is computed after the first allocation, and one allocated in
// a loop, keep allocations of their own.
// CHECK-LABEL: func.func @host(
// CHECK-SAME: %[[X:.+]]: memref<?x8xf32>, %[[Y:.+]]: memref<?x8xf32>, %[[C:.+]]: index)
// CHECK:   %[[N:.+]] = memref.dim %[[X]], %c0
// CHECK:   %[[BYTES:.+]] = arith.muli %[[N]], %c32
// CHECK:   %[[BLOCKS:.+]] = arith.ceildivui %[[BYTES]], %c256
// CHECK:   %[[FIRST:.+]] = arith.muli %[[BLOCKS]], %c256
// CHECK:   %[[TOTAL:.+]] = arith.addi %[[FIRST]], %c256
// CHECK:   %[[POOL:.+]] = gpu.alloc  (%[[TOTAL]]) : memref<?xi8>
// CHECK:   %[[A:.+]] = memref.view %[[POOL]][%c0][%[[N]]] : memref<?xi8> to memref<?x8xf32>
// CHECK:   %[[B:.+]] = memref.view %[[POOL]][%[[FIRST]]][] : memref<?xi8> to memref<3xi32>
// CHECK:   gpu.launch_func  @mnemo_kernels::@k {{.*}} args(%[[X]] : memref<?x8xf32>, %[[A]] : memref<?x8xf32>)
// CHECK:   gpu.launch_func  @mnemo_kernels::@k {{.*}} args(%[[A]] : memref<?x8xf32>, %[[Y]] : memref<?x8xf32>)
// CHECK:   gpu.launch_func  @mnemo_kernels::@ids {{.*}} args(%[[B]] : memref<3xi32>)
// CHECK-NOT: gpu.dealloc  %[[B]]
// CHECK:   %[[M:.+]] = arith.addi %[[N]], %[[C]]
// CHECK:   %[[LATE:.+]] = gpu.alloc  (%[[M]]) : memref<?x8xf32>
// CHECK:   scf.for
// CHECK:     %[[INNER:.+]] = gpu.alloc  () : memref<4xf32>
// CHECK:     gpu.dealloc  %[[INNER]]
// CHECK:   }
// CHECK:   gpu.dealloc  %[[LATE]]
// CHECK-NEXT: gpu.dealloc  %[[POOL]]
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  func.func @host(%x: memref<?x8xf32>, %y: memref<?x8xf32>, %c: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?x8xf32>
    %a = gpu.alloc (%n) : memref<?x8xf32>
    %b = gpu.alloc () : memref<3xi32>
    gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?x8xf32>, %a : memref<?x8xf32>)
    gpu.launch_func @mnemo_kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?x8xf32>, %y : memref<?x8xf32>)
    gpu.launch_func @mnemo_kernels::@ids blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<3xi32>)
    gpu.dealloc %b : memref<3xi32>
    %m = arith.addi %n, %c : index
    %late = gpu.alloc (%m) : memref<?x8xf32>
    scf.for %i = %c0 to %c step %c1 {
      %inner = gpu.alloc () : memref<4xf32>
      gpu.dealloc %inner : memref<4xf32>
    }
    gpu.dealloc %late : memref<?x8xf32>
    gpu.dealloc %a : memref<?x8xf32>
    return
  }
  gpu.module @mnemo_kernels {
    gpu.func @k(%p: memref<?x8xf32>, %q: memref<?x8xf32>) kernel {
      gpu.return
    }
    gpu.func @ids(%p: memref<3xi32>) kernel {
      gpu.return
    }
  }
}

// -----

// A single buffer is left as it is.
// CHECK-LABEL: func.func @one(
// CHECK:   %[[A:.+]] = gpu.alloc  () : memref<16xf32>
// CHECK-NEXT: gpu.dealloc  %[[A]]
// CHECK-NOT: memref.view
func.func @one() {
  %a = gpu.alloc () : memref<16xf32>
  gpu.dealloc %a : memref<16xf32>
  return
}
