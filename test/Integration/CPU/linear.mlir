// mnemo.linear with 16-bit weights (an LM head) lowered by the CPU pipeline
// and run under mlir-cpu-runner: 11 tokens of 20 values against 5 output
// rows, small integers so that every output is exact in f32. The runs cover
// groups of 2 and 4 tokens and single tokens after them, vectors of 4, 8
// and 16 lanes (the last two with a tail of 4), one tile of tokens and
// tiles of 4 and 2 (forced by a small L2; the last tile of 3 tokens with 16
// lanes has no whole group), and the last block of rows repeating row 4.
//
// UNSUPPORTED: sanitizer
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2" | %mlir_cpu_runner | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2 vector-width=16 l2-cache-bytes=640" | %mlir_cpu_runner | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2 vector-width=8 l2-cache-bytes=480" | %mlir_cpu_runner | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=1 vector-width=4" | %mlir_cpu_runner | FileCheck %s

func.func @main() {
  %x = arith.constant dense<[[-5.0, -2.0, 1.0, 4.0, -4.0, -1.0, 2.0, 5.0, -3.0, 0.0, 3.0, -5.0, -2.0, 1.0, 4.0, -4.0, -1.0, 2.0, 5.0, -3.0],
   [-4.0, 0.0, 4.0, -3.0, 1.0, 5.0, -2.0, 2.0, -5.0, -1.0, 3.0, -4.0, 0.0, 4.0, -3.0, 1.0, 5.0, -2.0, 2.0, -5.0],
   [-1.0, 4.0, -2.0, 3.0, -3.0, 2.0, -4.0, 1.0, -5.0, 0.0, 5.0, -1.0, 4.0, -2.0, 3.0, -3.0, 2.0, -4.0, 1.0, -5.0],
   [4.0, -1.0, 5.0, 0.0, -5.0, 1.0, -4.0, 2.0, -3.0, 3.0, -2.0, 4.0, -1.0, 5.0, 0.0, -5.0, 1.0, -4.0, 2.0, -3.0],
   [0.0, -4.0, 3.0, -1.0, -5.0, 2.0, -2.0, 5.0, 1.0, -3.0, 4.0, 0.0, -4.0, 3.0, -1.0, -5.0, 2.0, -2.0, 5.0, 1.0],
   [-2.0, -5.0, 3.0, 0.0, -3.0, 5.0, 2.0, -1.0, -4.0, 4.0, 1.0, -2.0, -5.0, 3.0, 0.0, -3.0, 5.0, 2.0, -1.0, -4.0],
   [-2.0, -4.0, 5.0, 3.0, 1.0, -1.0, -3.0, -5.0, 4.0, 2.0, 0.0, -2.0, -4.0, 5.0, 3.0, 1.0, -1.0, -3.0, -5.0, 4.0],
   [0.0, -1.0, -2.0, -3.0, -4.0, -5.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, 5.0, 4.0, 3.0],
   [4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0],
   [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, -5.0, -4.0],
   [-4.0, -2.0, 0.0, 2.0, 4.0, -5.0, -3.0, -1.0, 1.0, 3.0, 5.0, -4.0, -2.0, 0.0, 2.0, 4.0, -5.0, -3.0, -1.0, 1.0]]> : tensor<11x20xf32>
  %w = arith.constant dense<[[-4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0],
   [1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0],
   [-3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0],
   [2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0],
   [-2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0]]> : tensor<5x20xf16>
  %b = arith.constant dense<[0.5, -1.0, 0.25, 2.0, 0.0]> : tensor<5xf32>
  %y = mnemo.linear %x, %w bias %b
      : (tensor<11x20xf32>, tensor<5x20xf16>, tensor<5xf32>) -> tensor<11x5xf32>
  %ym = bufferization.to_memref %y : memref<11x5xf32>
  %yu = memref.cast %ym : memref<11x5xf32> to memref<*xf32>
  // CHECK: rank = 2 offset = 0 sizes = [11, 5]
  // CHECK-NEXT: [-9.5, -8, 14.25, 10, 20]
  // CHECK-NEXT: [11.5, -18, -35.75, -8, 25]
  // CHECK-NEXT: [-45.5, -9, -5.75, 52, 70]
  // CHECK-NEXT: [-37.5, -80, -38.75, 3, 23]
  // CHECK-NEXT: [-19.5, -44, -2.75, 21, 5]
  // CHECK-NEXT: [-13.5, -22, -18.75, -15, -6]
  // CHECK-NEXT: [35.5, -3, -20.75, 16, -32]
  // CHECK-NEXT: [-15.5, 13, 35.25, 4, -40]
  // CHECK-NEXT: [-23.5, 15, -15.75, 26, -8]
  // CHECK-NEXT: [44.5, 14, 13.25, -50, 9]
  // CHECK-NEXT: [12.5, 43, -31.75, 29, -22]
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()

  // The same weight in bf16, without the bias.
  %wb = arith.constant dense<[[-4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0],
   [1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0],
   [-3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0],
   [2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0],
   [-2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0, 2.0, 4.0, -3.0, -1.0, 1.0, 3.0, -4.0, -2.0, 0.0]]> : tensor<5x20xbf16>
  %z = mnemo.linear %x, %wb
      : (tensor<11x20xf32>, tensor<5x20xbf16>) -> tensor<11x5xf32>
  %zm = bufferization.to_memref %z : memref<11x5xf32>
  %zu = memref.cast %zm : memref<11x5xf32> to memref<*xf32>
  // CHECK: rank = 2 offset = 0 sizes = [11, 5]
  // CHECK-NEXT: [-10, -7, 14, 8, 20]
  // CHECK-NEXT: [11, -17, -36, -10, 25]
  // CHECK-NEXT: [-46, -8, -6, 50, 70]
  // CHECK-NEXT: [-38, -79, -39, 1, 23]
  // CHECK-NEXT: [-20, -43, -3, 19, 5]
  // CHECK-NEXT: [-14, -21, -19, -17, -6]
  // CHECK-NEXT: [35, -2, -21, 14, -32]
  // CHECK-NEXT: [-16, 14, 35, 2, -40]
  // CHECK-NEXT: [-24, 16, -16, 24, -8]
  // CHECK-NEXT: [44, 15, 13, -52, 9]
  // CHECK-NEXT: [12, 44, -32, 27, -22]
  call @printMemrefF32(%zu) : (memref<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(memref<*xf32>)
