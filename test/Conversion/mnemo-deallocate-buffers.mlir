// RUN: mnemo-opt %s --mnemo-deallocate-buffers --split-input-file | FileCheck %s

// A function-level allocation that is not returned is freed before the
// function returns (intermediate results of a layer: without this, every
// call leaked them).
// CHECK-LABEL: func.func @intermediate
// CHECK: %[[A:.+]] = memref.alloc(%{{.+}}) : memref<?x8xf32>
// CHECK: %[[B:.+]] = memref.alloc() : memref<8xf32>
// CHECK: linalg.copy
// CHECK: memref.dealloc %[[A]] : memref<?x8xf32>
// CHECK-NEXT: memref.dealloc %[[B]] : memref<8xf32>
// CHECK-NEXT: return
func.func @intermediate(%x: memref<?x8xf32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %a = memref.alloc(%n) : memref<?x8xf32>
  %b = memref.alloc() : memref<8xf32>
  linalg.copy ins(%x : memref<?x8xf32>) outs(%a : memref<?x8xf32>)
  linalg.copy ins(%a : memref<?x8xf32>) outs(%out : memref<?x8xf32>)
  return
}

// -----

// Allocations already freed, allocations inside loops (scratch that the
// loop frees) and allocations that escape are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-1: memref.dealloc
// CHECK-NOT: memref.dealloc
func.func @left_alone(%n: index) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %freed = memref.alloc() : memref<4xf32>
  memref.dealloc %freed : memref<4xf32>
  scf.for %i = %c0 to %n step %c1 {
    %scratch = memref.alloc() : memref<4xf32>
  }
  %returned = memref.alloc() : memref<4xf32>
  return %returned : memref<4xf32>
}
