// The tiling chosen per configuration and target. AVX-512 with 1 MiB of L2
// (this project's CI machines) and AVX2 with 512 KiB:
// RUN: mnemo-opt %s --mnemo-tile-lookups="threads=2 vector-width=16 l2-cache-bytes=1048576" | FileCheck %s --check-prefix=AVX512
// RUN: mnemo-opt %s --mnemo-tile-lookups="threads=2 vector-width=8 l2-cache-bytes=524288" | FileCheck %s --check-prefix=AVX2
// Every choice can be forced:
// RUN: mnemo-opt %s --mnemo-tile-lookups="threads=2 token-tile=100 column-tile=64 tables-per-pass=3 prefetch=0 parallel=tokens" | FileCheck %s --check-prefix=FORCED
// Bad options are errors:
// RUN: not mnemo-opt %s --mnemo-tile-lookups="parallel=rows" 2>&1 | FileCheck %s --check-prefix=BAD

// Many tokens: one cache line of each row per token (16 f32 columns), an
// accumulator tile of a quarter of L2 (at most 4096 tokens), column tiles
// spread over the threads. Tables per pass: the most of 8, 4, 2, 1 whose
// two slices (current and prefetched) beside the accumulators and the
// pass's buckets and weights take at most 5/8 of L2. With 512 KiB of L2:
// 2 x 4 x 16 KiB + 2048 x 64 B + 2048 x 4 x 8 B = 320 KiB (8 tables: 512
// KiB); with 1 MiB: 4096 tokens, 2 x 4 x 16 KiB + 256 KiB + 128 KiB = 512 KiB of 640.
// AVX512-LABEL: func.func @prefill
// AVX512: tiling = #mnemo.lookup_tiling<tokens = 4096, columns = 16, tables = 4, prefetch = 1, parallel = columns>
// AVX2-LABEL: func.func @prefill
// AVX2: tiling = #mnemo.lookup_tiling<tokens = 2048, columns = 16, tables = 4, prefetch = 1, parallel = columns>
// FORCED-LABEL: func.func @prefill
// FORCED: tiling = #mnemo.lookup_tiling<tokens = 100, columns = 64, tables = 3, prefetch = 0, parallel = tokens>
func.func @prefill(%x: tensor<?x512xf32>, %t: tensor<64x256x512xf32>) -> tensor<?x512xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x512xf32>, tensor<64x256x512xf32>) -> tensor<?x512xf32>
  return %y : tensor<?x512xf32>
}

// Decoding: rows come from DRAM, so a thread reads long runs of each row
// (as many columns as its registers hold accumulators for), in one pass
// over all tables, without prefetching.
// AVX512-LABEL: func.func @decode
// AVX512: tiling = #mnemo.lookup_tiling<tokens = 1, columns = 256, tables = 64, prefetch = 0, parallel = columns>
// AVX2-LABEL: func.func @decode
// AVX2: tiling = #mnemo.lookup_tiling<tokens = 1, columns = 64, tables = 64, prefetch = 0, parallel = columns>
func.func @decode(%x: tensor<1x512xf32>, %t: tensor<64x256x512xf32>) -> tensor<1x512xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<1x512xf32>, tensor<64x256x512xf32>) -> tensor<1x512xf32>
  return %y : tensor<1x512xf32>
}

// f16 rows: 32 columns fill a cache line; the token tile is the static
// token count, and 8 tables take 2 x 8 x 16 KiB + 256 KiB + 128 KiB = 640
// KiB, 5/8 of L2 exactly. With 512 KiB of L2, 1024 tokens and 4 tables:
// 2 x 4 x 16 KiB + 128 KiB + 32 KiB = 288 KiB.
// AVX512-LABEL: func.func @f16
// AVX512: tiling = #mnemo.lookup_tiling<tokens = 2048, columns = 32, tables = 8, prefetch = 1, parallel = columns>
// AVX2-LABEL: func.func @f16
// AVX2: tiling = #mnemo.lookup_tiling<tokens = 1024, columns = 32, tables = 4, prefetch = 1, parallel = columns>
func.func @f16(%x: tensor<2048x512xf32>, %t: tensor<64x256x512xf16>) -> tensor<2048x512xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<2048x512xf32>, tensor<64x256x512xf16>) -> tensor<2048x512xf32>
  return %y : tensor<2048x512xf32>
}

// tau = 10: a table's slice is 1024 rows x 64 B = 64 KiB, so one table per
// pass (2 x 64 KiB + 128 KiB + 16 KiB = 272 KiB of the 320 that 512 KiB of L2
// allows); 8, as
// before, kept 1 MiB of slices per pass and ran 1.6x slower.
// AVX2-LABEL: func.func @tau10
// AVX2: tiling = #mnemo.lookup_tiling<tokens = 2048, columns = 16, tables = 1, prefetch = 1, parallel = columns>
func.func @tau10(%x: tensor<2048x640xf32>, %t: tensor<64x1024x512xf32>) -> tensor<2048x512xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<2048x640xf32>, tensor<64x1024x512xf32>) -> tensor<2048x512xf32>
  return %y : tensor<2048x512xf32>
}

// h = 5 is not a multiple of the vector width: one partial-vector column
// tile, too few to spread over threads, so token tiles are.
// AVX512-LABEL: func.func @odd_width
// AVX512: tiling = #mnemo.lookup_tiling<tokens = 4096, columns = 5, tables = 3, prefetch = 1, parallel = tokens>
// FORCED-LABEL: func.func @odd_width
// FORCED: tiling = #mnemo.lookup_tiling<tokens = 100, columns = 5, tables = 3, prefetch = 0, parallel = tokens>
func.func @odd_width(%x: tensor<?x3xf32>, %t: tensor<3x2x5xf32>) -> tensor<?x5xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x3xf32>, tensor<3x2x5xf32>) -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}

// One column tile, token tiles over 2 threads: the 904 tokens that fit half
// of L2 would make 3 tiles for 2048 tokens, one thread doing two of them;
// 4 tiles of 512 balance the threads.
// AVX512-LABEL: func.func @narrow
// AVX512: tiling = #mnemo.lookup_tiling<tokens = 512, columns = 16, tables = 8, prefetch = 1, parallel = tokens>
func.func @narrow(%x: tensor<2048x512xf32>, %t: tensor<64x256x16xf32>) -> tensor<2048x16xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<2048x512xf32>, tensor<64x256x16xf32>) -> tensor<2048x16xf32>
  return %y : tensor<2048x16xf32>
}

// BAD: error: parallel must be auto, tokens or columns, got 'rows'
