// RUN: mnemo-opt %s --mnemo-lower-to-gpu | FileCheck %s --check-prefix=GPU
// RUN: mnemo-opt %s --mnemo-lower-to-ptx | sed 's/\\0A/\n/g; s/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: mnemo-opt %s --mnemo-lower-to-ptx | FileCheck %s --check-prefix=HOST

// The Memory Layer through the whole CUDA pipeline, f16 tables.
//
// Constants stay in the kernels (the table loop's trip count, the divisors
// of the thread index), not kernel arguments that the PTX compiler cannot
// see through.
// GPU-LABEL: gpu.func @lookup_kernel_0(
// GPU-SAME: %{{.+}}: memref<8x256x256xf16>
// GPU-DAG: %[[TABLES:.+]] = arith.constant 8 : index
// GPU: memref.assume_alignment %{{.+}}, 16 : memref<8x256x256xf16>
// GPU: scf.for %{{.+}} = %{{.+}} to %[[TABLES]] step
// GPU: vector.load %{{.+}} : memref<8x256x256xf16>, vector<8xf16>
//
// In PTX, each row segment is one 16-byte load (eight halves) and each
// output vector two 16-byte stores; no row is read 2 bytes at a time.
// PTX-LABEL: .entry lookup_kernel_0(
// PTX-NOT: ld.global.u16
// PTX: ld.global.v4.b32
// PTX: cvt.f32.f16
// PTX: fma.rn.f32
// PTX-NOT: ld.global.u16
// PTX: st.global.v4.f32
func.func @lookup(%x: tensor<?x64xf32>, %t: tensor<8x256x256xf16>, %b: tensor<256xf32>) -> tensor<?x256xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> : (tensor<?x64xf32>, tensor<8x256x256xf16>, tensor<256xf32>) -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// Few tokens, K = 16 tables: below 4096 gather threads, chunks of 8 tables
// per thread. Each thread hashes its chunk's tables from the input (no
// bucket or weight read from the hash kernel's scratch), and the chunk's
// 8 hashes and row loads are straight-line code (no branch between them);
// the chunk's sum is written with 16-byte stores, and the kernel adding
// the two chunks to the bias reads them with 16-byte loads. (decode_kernel
// hashes for the token-tiled gather, _1 sums the chunks, _2 adds them up,
// _3 is the token-tiled gather.)
// PTX-LABEL: .entry decode_kernel_1(
// PTX-NOT: ld.global.u32
// PTX: ld.global.f32
// PTX: {{ex2.approx|call.uni.*}}
// PTX-NOT: ld.global.u32
// PTX: ld.global.v4.b32
// PTX-NOT: {{^\$L}}
// PTX-COUNT-7: ld.global.v4.b32
// PTX-NOT: {{^\$L}}
// PTX: st.global.v4.f32
// PTX: st.global.v4.f32
// PTX-LABEL: .entry decode_kernel_2(
// PTX-COUNT-6: ld.global.v4.f32
// PTX: st.global.v4.f32
// PTX: st.global.v4.f32
// PTX-LABEL: .entry decode_kernel_3(
func.func @decode(%x: tensor<?x64xf32>, %t: tensor<16x16x256xf16>, %b: tensor<256xf32>) -> tensor<?x256xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> : (tensor<?x64xf32>, tensor<16x16x256xf16>, tensor<256xf32>) -> tensor<?x256xf32>
  return %y : tensor<?x256xf32>
}

// Linear: the weight row is read with 16-byte loads.
// PTX-LABEL: .entry linear_kernel(
// PTX: ld.global.v4.f32
// PTX: fma.rn.f32
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<100x64xf32>, %b: tensor<100xf32>) -> tensor<?x100xf32> {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x64xf32>, tensor<100x64xf32>, tensor<100xf32>) -> tensor<?x100xf32>
  return %y : tensor<?x100xf32>
}

// A concatenation (MLIR 19 has no bufferization of tensor.concat) becomes
// one copy kernel per operand into the result.
// GPU-LABEL: func.func @cat(
// GPU: gpu.launch_func @mnemo_kernels::@cat_kernel blocks
// GPU: gpu.launch_func @mnemo_kernels::@cat_kernel_{{[0-9]+}}
func.func @cat(%a: tensor<?x16xf32>, %b: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %c = tensor.concat dim(0) %a, %b : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  return %c : tensor<?x16xf32>
}

// Elementwise work on 3-D buffers (Memsizer states) is collapsed to two
// dimensions: a block's 128 threads on y, never on z (at most 64 there).
// GPU-LABEL: func.func @states(
// GPU: gpu.launch_func @mnemo_kernels::@states_kernel blocks in ({{.+}}) threads in (%c1, %c128, %c1)
func.func @states(%a: tensor<?x4x16xf32>) -> tensor<?x4x16xf32> {
  %b = arith.addf %a, %a : tensor<?x4x16xf32>
  return %b : tensor<?x4x16xf32>
}

// Attention: per chunk of queries (a host loop), the scores kernel, then
// the outputs kernel, their scratch one device allocation for all chunks.
// GPU-LABEL: func.func @attention(
// GPU: memref.alloc
// GPU: scf.for
// GPU:   gpu.launch_func @mnemo_kernels::@attention_kernel blocks
// GPU:   gpu.launch_func @mnemo_kernels::@attention_kernel_{{[0-9]+}} blocks
// GPU: memref.dealloc
//
// The host queues both kernels of every chunk without waiting for the GPU
// in between (-mnemo-elide-host-waits): one wait, before the return.
// HOST-LABEL: llvm.func @attention(
// HOST-NOT: @mgpuStreamSynchronize
// HOST: llvm.call @mgpuStreamSynchronize
// HOST-NEXT: llvm.call @mgpuStreamDestroy
// HOST-NEXT: llvm.return
func.func @attention(%q: tensor<?x16xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %o = mnemo.causal_attention %q, %k, %v heads 2 scale 0.353553385 : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}
