// The Memory Layer lowered by the CPU pipeline and run under
// mlir-cpu-runner, on inputs whose outputs are exact by hand: magnitudes of
// 20 make a weight factor 1/(1 + e^-40) == 1 in f32, zeros make it 1/2, and
// 0.0 and -0.0 hash to 1 bits.
//
// UNSUPPORTED: sanitizer
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2" | %mlir_cpu_runner | FileCheck %s
// Forced small tiles: token tails, a remainder pass, columns spread over
// threads, token tiles spread over threads.
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2 token-tile=2 tables-per-pass=2 parallel=columns" | %mlir_cpu_runner | FileCheck %s
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2 token-tile=1 column-tile=1 parallel=tokens prefetch=0" | %mlir_cpu_runner | FileCheck %s

func.func @main() {
  // tau = 1, K = 3, h = 2: row 0 picks rows (1, 0, 1) with weights
  // (1, 1, 1/2); row 1 picks (0, 1, 1) (-0.0 is a 1 bit); row 2 is all
  // zeros: every bit 1, every weight 1/2.
  %x = arith.constant dense<[[20.0, -20.0, 0.0],
                             [-20.0, 20.0, -0.0],
                             [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %t = arith.constant dense<[[[100.0, 200.0], [1.0, 2.0]],
                             [[3.0, 4.0], [100.0, 200.0]],
                             [[100.0, 200.0], [10.0, 20.0]]]> : tensor<3x2x2xf32>
  %b = arith.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob>
      : (tensor<3x3xf32>, tensor<3x2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %ym = bufferization.to_memref %y : memref<3x2xf32>
  %yu = memref.cast %ym : memref<3x2xf32> to memref<*xf32>
  // CHECK: rank = 2 offset = 0 sizes = [3, 2]
  // CHECK-NEXT: [9.5, 16.25]
  // CHECK-NEXT: [205.5, 410.25]
  // CHECK-NEXT: [56, 111.25]
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()

  // tau = 2, K = 2, h = 3, l1_prob, f16 tables, no bias: chunk (20, -20)
  // is bucket 0b10 with weight |20| + |-20| = 40; chunk (-20, -20) is
  // bucket 0 with weight 40; a chunk of zeros weighs 0.
  %x2 = arith.constant dense<[[20.0, -20.0, -20.0, -20.0],
                              [0.0, 0.0, 20.0, 20.0]]> : tensor<2x4xf32>
  %t2 = arith.constant dense<[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                               [0.5, 0.25, 2.0], [9.0, 9.0, 9.0]],
                              [[0.125, 1.0, -1.0], [7.0, 7.0, 7.0],
                               [7.0, 7.0, 7.0], [1.0, 2.0, 3.0]]]> : tensor<2x4x3xf16>
  %y2 = mnemo.hash_lookup %x2, %t2 weighting<l1_prob>
      : (tensor<2x4xf32>, tensor<2x4x3xf16>) -> tensor<2x3xf32>
  %y2m = bufferization.to_memref %y2 : memref<2x3xf32>
  %y2u = memref.cast %y2m : memref<2x3xf32> to memref<*xf32>
  // CHECK: rank = 2 offset = 0 sizes = [2, 3]
  // CHECK-NEXT: [25, 50, 40]
  // CHECK-NEXT: [40, 80, 120]
  call @printMemrefF32(%y2u) : (memref<*xf32>) -> ()
  return
}

func.func private @printMemrefF32(memref<*xf32>)
