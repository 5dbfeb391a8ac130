// RUN: mnemo-opt %s --mnemo-lower-to-runtime --canonicalize | FileCheck %s

// Library-backed ops become calls on buffers: operands through read-only
// to_memref with a fully dynamic strided layout, results in fresh
// allocations, attributes as scalars; one private declaration per kernel.

// CHECK-DAG: func.func private @mnemo_linear(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @mnemo_causal_attention({{.*}}, i64, f32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @mnemo_rotary({{.*}}memref<?xi64, strided<[?], offset: ?>>{{.*}}, i64, i64, f32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @mnemo_embedding_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>

// CHECK-LABEL: func.func @linear
// CHECK: %[[X:.+]] = bufferization.to_memref %{{.+}} read_only : memref<?x16xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[N:.+]] = tensor.dim %{{.+}}, %{{.+}} : tensor<?x16xf32>
// CHECK: %[[Y:.+]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<?x64xf32>
// CHECK: call @mnemo_linear(
// CHECK: bufferization.to_tensor %[[Y]] restrict writable : memref<?x64xf32>
func.func @linear(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Without a bias: an empty buffer stands for it.
// CHECK-LABEL: func.func @linear_no_bias
// CHECK: %[[EMPTY:.+]] = memref.alloca() : memref<0xf32>
// CHECK: %[[CAST:.+]] = memref.cast %[[EMPTY]] : memref<0xf32> to memref<?xf32, strided<[?], offset: ?>>
// CHECK: call @mnemo_linear(%{{.+}}, %{{.+}}, %[[CAST]], %{{.+}})
func.func @linear_no_bias(%x: tensor<1x16xf32>, %w: tensor<64x16xf32>) -> tensor<1x64xf32> {
  %y = mnemo.linear %x, %w : (tensor<1x16xf32>, tensor<64x16xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK-DAG: %[[HEADS:.+]] = arith.constant 8 : i64
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
// CHECK: call @mnemo_causal_attention(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[HEADS]], %[[SCALE]])
func.func @attention(%q: tensor<?x512xf32>, %k: tensor<?x512xf32>, %v: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %o = mnemo.causal_attention %q, %k, %v heads 8 scale 0.125 : tensor<?x512xf32>, tensor<?x512xf32>, tensor<?x512xf32> -> tensor<?x512xf32>
  return %o : tensor<?x512xf32>
}

// CHECK-LABEL: func.func @rotary_embedding
// CHECK: call @mnemo_embedding_bf16(
// CHECK: call @mnemo_rotary(
func.func @rotary_embedding(%table: tensor<100x64xbf16>, %ids: tensor<?xi64>) -> tensor<?x64xf32> {
  %x = mnemo.embedding %table[%ids] : tensor<100x64xbf16>, tensor<?xi64> -> tensor<?x64xf32>
  %r = mnemo.rotary %x, %ids heads 4 dims 4 base 1.000000e+04 : tensor<?x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// Memsizer's ops are generated code (-mnemo-lower-memsizer), not calls.
// CHECK-LABEL: func.func @memsizer
// CHECK-NOT: call
// CHECK: mnemo.memsizer_alpha
// CHECK: mnemo.memsizer_prefill
func.func @memsizer(%logits: tensor<?x12xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x8xf32>,
                    %state: tensor<4x8xf32>, %start: index) -> (tensor<?x8xf32>, tensor<4x8xf32>) {
  %alpha = mnemo.memsizer_alpha %logits heads 3 : tensor<?x12xf32> -> tensor<?x4xf32>
  %y, %s = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x8xf32>, tensor<4x8xf32>
  return %y, %s : tensor<?x8xf32>, tensor<4x8xf32>
}

// A linear layer with f16 weights is not a BLAS call: -mnemo-lower-linear
// generates it.
// CHECK-LABEL: func.func @linear_f16
// CHECK: mnemo.linear
// CHECK-NOT: call @mnemo_linear
func.func @linear_f16(%x: tensor<?x16xf32>, %w: tensor<4x16xf16>) -> tensor<?x4xf32> {
  %y = mnemo.linear %x, %w : (tensor<?x16xf32>, tensor<4x16xf16>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
