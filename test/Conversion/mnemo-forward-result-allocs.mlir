// RUN: mnemo-opt %s -split-input-file -mnemo-forward-result-allocs | FileCheck %s

// The result is computed in a fresh buffer and copied to the caller's:
// computed in place instead.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[IN:.+]]: memref<?x8xf32>, %[[OUT:.+]]: memref<?x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[OUT]] : memref<?x8xf32>)
// CHECK-NOT: memref.copy
// CHECK-NEXT: return
func.func @forward(%in: memref<?x8xf32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %in, %c0 : memref<?x8xf32>
  %buf = memref.alloc(%n) : memref<?x8xf32>
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%buf : memref<?x8xf32>)
  memref.copy %buf, %out : memref<?x8xf32> to memref<?x8xf32>
  return
}

// -----

// linalg.copy (what the CPU pipeline emits) is forwarded too.
// CHECK-LABEL: func.func @forward_linalg_copy
// CHECK-SAME: (%[[OUT:.+]]: memref<4xf32>)
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[OUT]] : memref<4xf32>)
// CHECK-NOT: linalg.copy
func.func @forward_linalg_copy(%out: memref<4xf32>) {
  %buf = memref.alloc() : memref<4xf32>
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%buf : memref<4xf32>)
  linalg.copy ins(%buf : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// -----

// Not when the buffer is read after the copy, or the target is used
// elsewhere, or the buffer is freed.
// CHECK-LABEL: func.func @keep
// CHECK-COUNT-3: memref.copy
func.func @keep(%a: memref<4xf32>, %b: memref<4xf32>, %c: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %buf = memref.alloc() : memref<4xf32>
  memref.copy %buf, %a : memref<4xf32> to memref<4xf32>
  %v = memref.load %buf[%c0] : memref<4xf32>
  %buf2 = memref.alloc() : memref<4xf32>
  memref.store %v, %b[%c0] : memref<4xf32>
  memref.copy %buf2, %b : memref<4xf32> to memref<4xf32>
  %buf3 = memref.alloc() : memref<4xf32>
  memref.dealloc %buf3 : memref<4xf32>
  memref.copy %buf3, %c : memref<4xf32> to memref<4xf32>
  return %v : f32
}
