// RUN: mnemo-opt %s --mnemo-merge-gpu-modules | FileCheck %s

// Two outlined kernels, both named @f_kernel in their own modules, become
// one module whose kernels take their old modules' names; every launch
// follows.
// CHECK-LABEL: func.func @f
// CHECK: gpu.launch_func  @mnemo_kernels::@f_kernel blocks
// CHECK: gpu.launch_func  @mnemo_kernels::@f_kernel_0 blocks
// CHECK: gpu.module @mnemo_kernels {
// CHECK:   gpu.func @f_kernel(
// CHECK:   gpu.func @f_kernel_0(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @f(%m: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
