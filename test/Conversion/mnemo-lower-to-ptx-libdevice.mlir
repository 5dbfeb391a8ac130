// The CUDA pipeline links libdevice from /usr/local/cuda when none of
// CUDA_ROOT, CUDA_HOME and CUDA_PATH is set, as the JIT does: the hash's
// exp is inlined (ex2.approx after libdevice's range reduction), with no
// call of an external __nv_expf left for the driver to resolve. mnemo-opt
// used to leave it unresolved unless the environment named the toolkit.
// REQUIRES: ptxas
// RUN: env -u CUDA_ROOT -u CUDA_HOME -u CUDA_PATH mnemo-opt %s --mnemo-lower-to-ptx | sed 's/\\0A/\n/g; s/\\09/ /g' | FileCheck %s
// CHECK-NOT: __nv_expf
// CHECK: .entry lookup_kernel(
// CHECK: ex2.approx
// CHECK-NOT: __nv_expf
func.func @lookup(%x: tensor<?x16xf32>, %t: tensor<4x16x32xf16>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<4x16x32xf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
