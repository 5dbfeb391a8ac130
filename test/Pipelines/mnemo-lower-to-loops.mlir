// The first half of the CPU pipeline on MemoryFormer's attention inputs:
// the Q and K lookups fuse, the RMSNorm folds into their hashing, the fused
// tables are packed into one concatenated layout at load time, and what
// remains is loops on buffers with the results written to out-parameters.
// RUN: mnemo-opt %s --mnemo-lower-to-loops="threads=2 vector-width=8" | FileCheck %s

// CHECK-LABEL: func.func @attention_inputs
// CHECK-SAME: (%[[X:.+]]: memref<?x16xf32>, %[[G:.+]]: memref<16xf32> {mnemo.weight}, %{{.+}}: memref<2x256x32xf32> {mnemo.weight}, %{{.+}}: memref<2x256x32xf32> {mnemo.weight},
// CHECK-SAME: %[[PACKED:.+]]: memref<4x2x256x16xf32> {mnemo.weight}, %[[Q:.+]]: memref<?x32xf32>, %[[K:.+]]: memref<?x32xf32>)
// CHECK-SAME: mnemo.prepare_weights = @attention_inputs__prepare_weights
// CHECK-NOT: mnemo.
// CHECK-NOT: linalg.transpose
// The row's RMS statistics, then one hashing of the normalized row:
// CHECK: math.sqrt
// CHECK: vector.load %[[G]]
// CHECK: scf.parallel
// CHECK: vector.fma
// Each table is packed straight into its half of the out-parameter: no
// concatenated copy in the stored layout, no buffer in between.
// CHECK-LABEL: func.func @attention_inputs__prepare_weights
// CHECK-SAME: (%{{.+}}: memref<16xf32>, %[[TQ:.+]]: memref<2x256x32xf32>, %[[TK:.+]]: memref<2x256x32xf32>, %[[OUT:.+]]: memref<4x2x256x16xf32>)
// CHECK-NOT: memref.alloc
// CHECK: %[[SQ:.+]] = memref.expand_shape %[[TQ]]
// CHECK: %[[DQ:.+]] = memref.subview %[[OUT]][0, 0, 0, 0] [2, 2, 256, 16]
// CHECK: memref.load %[[SQ]]
// CHECK-NEXT: memref.store %{{.+}}, %[[DQ]]
// CHECK: %[[SK:.+]] = memref.expand_shape %[[TK]]
// CHECK: %[[DK:.+]] = memref.subview %[[OUT]][2, 0, 0, 0] [2, 2, 256, 16]
// CHECK: memref.load %[[SK]]
// CHECK-NEXT: memref.store %{{.+}}, %[[DK]]
// CHECK-NOT: memref.load
// CHECK: return
func.func @attention_inputs(%x: tensor<?x16xf32>, %g: tensor<16xf32> {mnemo.weight},
                            %tq: tensor<2x256x32xf32> {mnemo.weight},
                            %tk: tensor<2x256x32xf32> {mnemo.weight})
    -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %q = mnemo.hash_lookup %u, %tq weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
  %k = mnemo.hash_lookup %u, %tk weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x32xf32>) -> tensor<?x32xf32>
  return %q, %k : tensor<?x32xf32>, tensor<?x32xf32>
}
