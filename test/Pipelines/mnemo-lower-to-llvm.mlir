// The whole CPU pipeline ends in the LLVM dialect: OpenMP parallel regions,
// FMAs and prefetches as intrinsics, scratch buffers from Mnemo's runtime
// allocator, and C interfaces for the runtime to call.
// RUN: mnemo-opt %s --mnemo-lower-to-llvm="threads=2 vector-width=16" | FileCheck %s

// CHECK-NOT: mnemo.
// CHECK-LABEL: llvm.func @layer(
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: "llvm.intr.prefetch"({{.+}}) <{cache = 1 : i32, hint = 2 : i32, rw = 0 : i32}>
// CHECK: llvm.intr.fmuladd({{.+}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.call @_mlir_memref_to_llvm_free
// CHECK-LABEL: llvm.func @_mlir_ciface_layer(
// CHECK-LABEL: llvm.func @layer__prepare_weights(
// CHECK-LABEL: llvm.func @_mlir_ciface_layer__prepare_weights(
func.func @layer(%x: tensor<?x64xf32>, %t: tensor<8x256x64xf16> {mnemo.weight},
                 %b: tensor<64xf32> {mnemo.weight}) -> tensor<?x64xf32>
    attributes {llvm.emit_c_interface} {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> temperature 0.5
      : (tensor<?x64xf32>, tensor<8x256x64xf16>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
