// RUN: mnemo-opt %s --mnemo-lower-gpu-kernels="token-tile=8" --canonicalize --cse --split-input-file --verify-diagnostics | FileCheck %s
// RUN: mnemo-opt %s --split-input-file --mnemo-lower-gpu-kernels="token-tile=2 aligned-operands=1" --canonicalize --cse --verify-diagnostics | FileCheck %s --check-prefix=TWO
// RUN: mnemo-opt %s --split-input-file --mnemo-lower-gpu-kernels="split-tables-below=0" --canonicalize --cse --verify-diagnostics | FileCheck %s --check-prefix=NEVER

// The Memory Layer as two grids of GPU threads (here with token-tile=8;
// NEVER, with the default, gathers for tiles of 2 tokens). (table, token) hashes a
// chunk of tau = 4 values into a scratch bucket (a 32-bit word) (element 0 the most
// significant bit, set for z >= 0) and weight (l1_prob: sum |z| over the
// product of 1 + exp(-2|z|)), tokens innermost. Then each thread gathers,
// for a tile of 8 tokens, one 16-byte vector of 8 f16 columns from each of
// the K rows the tokens hit, widened to f32 and accumulated with FMAs on
// top of the bias; tokens past the end repeat the last one, and only the
// tile's tokens in range are stored. No allocation inside the loops.
// CHECK-LABEL: func.func @lookup
// CHECK: %[[TILES:.+]] = arith.ceildivui %[[N:.+]], %c8
// CHECK: %[[THREADS:.+]] = arith.muli %[[TILES]], %c4
// CHECK-DAG: %[[BUCKETS:.+]] = memref.alloc(%{{.+}}) {{.+}} : memref<4x?xi32>
// CHECK-DAG: %[[WEIGHTS:.+]] = memref.alloc(%{{.+}}) {{.+}} : memref<4x?xf32>
// CHECK: scf.parallel (%[[TABLE:.+]], %[[TOKEN:.+]]) = (%c0, %c0) to (%c4, %{{.+}})
// CHECK:   scf.for {{.+}} -> (index, f32, f32)
// CHECK:     arith.cmpf oge
// CHECK:     arith.shli %c1
// CHECK:     math.exp
// CHECK:   %[[WEIGHT:.+]] = arith.divf
// CHECK:   %[[BUCKET:.+]] = arith.index_castui %{{.+}} : index to i32
// CHECK:   memref.store %[[BUCKET]], %[[BUCKETS]][%[[TABLE]], %[[TOKEN]]]
// CHECK:   memref.store %[[WEIGHT]], %[[WEIGHTS]][%[[TABLE]], %[[TOKEN]]]
// CHECK: scf.parallel (%[[IV:[^)]+]]) = (%c0) to (%[[THREADS]])
// CHECK:   %[[TILE:.+]] = arith.divui %[[IV]], %c4
// CHECK:   %[[FIRST:.+]] = arith.muli %[[TILE]], %c8
// CHECK:   %[[GROUP:.+]] = arith.remui %[[IV]], %c4
// CHECK:   %[[COL:.+]] = arith.muli %[[GROUP]], %c8
// CHECK:   %[[BIAS:.+]] = vector.load %{{.+}}[%[[COL]]] : memref<32xf32>, vector<8xf32>
// CHECK:   %[[LAST:.+]] = arith.subi %[[N]], %c1
// CHECK:   %[[T0:.+]] = arith.minsi %[[FIRST]], %[[LAST]]
// CHECK:   %[[SUMS:.+]]:8 = scf.for %[[K:.+]] = %c0 to %c4 {{.+}} iter_args(%[[ACC:[^ ]+]] = %[[BIAS]], {{.+}}) -> (vector<8xf32>,
// CHECK:     %[[WORD:.+]] = memref.load %[[BUCKETS]][%[[K]], %[[T0]]]
// CHECK:     %[[ROW:.+]] = arith.index_castui %[[WORD]] : i32 to index
// CHECK:     %[[W:.+]] = memref.load %[[WEIGHTS]][%[[K]], %[[T0]]]
// CHECK:     %[[V:.+]] = vector.load %{{.+}}[%[[K]], %[[ROW]], %[[COL]]] : memref<4x16x32xf16>, vector<8xf16>
// CHECK:     %[[WIDE:.+]] = arith.extf %[[V]] : vector<8xf16> to vector<8xf32>
// CHECK:     %[[SPLAT:.+]] = vector.splat %[[W]] : vector<8xf32>
// CHECK:     vector.fma %[[SPLAT]], %[[WIDE]], %[[ACC]] : vector<8xf32>
// CHECK-COUNT-7: vector.fma
// CHECK:   %[[IN:.+]] = arith.cmpi ult, %[[FIRST]], %[[N]]
// CHECK:   scf.if %[[IN]] {
// CHECK:     vector.store %[[SUMS]]#0, %{{.+}}[%[[FIRST]], %[[COL]]] : memref<?x32xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.store
// CHECK-NOT: memref.alloc
// CHECK: memref.dealloc %[[BUCKETS]]
// CHECK: memref.dealloc %[[WEIGHTS]]

// With token-tile=2 and aligned operands: two accumulators per thread, and
// the buffers the vectors come from are assumed 16-byte aligned (device
// allocations are), which lets the GPU load each as one 16-byte access.
// TWO-LABEL: func.func @lookup
// TWO: arith.ceildivui %{{.+}}, %c2
// TWO: scf.parallel
// TWO:   memref.assume_alignment %{{.+}}, 16 : memref<4x16x32xf16>
// TWO:   memref.assume_alignment %{{.+}}, 16 : memref<32xf32>
// TWO:   memref.assume_alignment %{{.+}}, 16 : memref<?x32xf32>
// TWO:   scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>) {
// TWO-COUNT-2: vector.store
// TWO-NOT: vector.store
// TWO-LABEL: func.func @narrow
// TWO: vector.load %{{.+}} : memref<2x16x6xf32>, vector<2xf32>
// TWO-NOT: memref.assume_alignment
// TWO-LABEL: func.func @decode
func.func @lookup(%x: tensor<?x16xf32>, %t: tensor<4x16x32xf16>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<l1_prob> : (tensor<?x16xf32>, tensor<4x16x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A width of 6 f32 columns: rows are read two lanes at a time, and there is
// no bias to align.
// CHECK-LABEL: func.func @narrow
// CHECK: vector.load %{{.+}} : memref<2x16x6xf32>, vector<2xf32>
func.func @narrow(%x: tensor<5x8xf32>, %t: tensor<2x16x6xf32>) -> tensor<5x6xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<5x8xf32>, tensor<2x16x6xf32>) -> tensor<5x6xf32>
  return %y : tensor<5x6xf32>
}

// -----

// Few tokens: when fewer than 4096 (split-tables-below) threads of token
// tiles x column groups would run, the K = 16 tables are split into two
// chunks of 8 across threads instead, one token per thread, each thread
// hashing its chunk's tables itself (the hash grid then has no tokens),
// with the 8 row loads of a chunk in straight-line code; a second grid adds
// the chunks to the bias in a fixed order. The choice is made at run time
// from N: the other path's index spaces are empty.
// CHECK-LABEL: func.func @decode
// CHECK: %[[N:.+]] = tensor.dim
// CHECK: %[[OUT:.+]] = memref.alloc(%[[N]]) {{.+}} : memref<?x32xf32>
// CHECK: %[[TILED:.+]] = arith.muli %{{.+}}, %c4
// CHECK: %[[FEW:.+]] = arith.cmpi ult, %[[TILED]], %c4096
// CHECK: %[[SPLITN:.+]] = arith.select %[[FEW]], %[[N]], %c0
// CHECK: %[[HASHN:.+]] = arith.select %[[FEW]], %c0, %[[N]]
// CHECK: %[[TILEDN:.+]] = arith.select %[[FEW]], %c0, %[[TILED]]
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c16, %[[HASHN]])
// CHECK: %[[PART:.+]] = memref.alloc(%[[SPLITN]]) {{.+}} : memref<?x2x32xf32>
// CHECK: %[[SPLITTHREADS:.+]] = arith.muli %[[SPLITN]], %c4
// CHECK: scf.parallel (%[[CHUNK:.+]], %[[IV:.+]]) = (%c0, %c0) to (%c2, %[[SPLITTHREADS]])
// CHECK:   %[[TOKEN:.+]] = arith.divui %[[IV]], %c4
// CHECK-NOT: memref.load
// CHECK:   scf.for {{.+}} -> (index, f32, f32)
// CHECK:     tensor.extract %{{.+}}[%[[TOKEN]], %{{.+}}] : tensor<?x32xf32>
// CHECK:     math.exp
// CHECK-NOT: memref.load
// CHECK:   vector.load %{{.+}} : memref<16x4x32xf16>, vector<8xf16>
// CHECK-COUNT-8: vector.fma
// CHECK-NOT: vector.fma
// CHECK:   vector.store %{{.+}}, %[[PART]][%[[TOKEN]], %[[CHUNK]], %{{.+}}] : memref<?x2x32xf32>, vector<8xf32>
// CHECK: scf.parallel (%[[IV2:.+]]) = (%c0) to (%[[SPLITTHREADS]])
// CHECK:   %[[TOKEN2:.+]] = arith.divui %[[IV2]], %c4
// CHECK:   %[[BIAS:.+]] = vector.load %{{.+}} : memref<32xf32>, vector<8xf32>
// CHECK:   %[[P0:.+]] = vector.load %[[PART]][%[[TOKEN2]], %c0, %{{.+}}]
// CHECK:   %[[S0:.+]] = arith.addf %[[BIAS]], %[[P0]]
// CHECK:   %[[P1:.+]] = vector.load %[[PART]][%[[TOKEN2]], %c1, %{{.+}}]
// CHECK:   %[[SUM:.+]] = arith.addf %[[S0]], %[[P1]]
// CHECK:   vector.store %[[SUM]], %[[OUT]][%[[TOKEN2]], %{{.+}}]
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%[[TILEDN]])
// CHECK:   scf.for %{{.+}} = %c0 to %c16
// CHECK: memref.dealloc %[[PART]]
// With split-tables-below=0, only the token-tiled gather.
// NEVER-LABEL: func.func @lookup
// NEVER: arith.ceildivui %{{.+}}, %c2
// NEVER-LABEL: func.func @decode
// NEVER-NOT: memref<?x2x32xf32>
// NEVER: scf.for %{{.+}} = %c0 to %c16
// NEVER-NOT: memref<?x2x32xf32>
func.func @decode(%x: tensor<?x32xf32>, %t: tensor<16x4x32xf16>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<l1_prob> : (tensor<?x32xf32>, tensor<16x4x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Sibling lookups (MemoryFormer's Q, K and V: the same input hashed the same
// way into tables of one type) are lowered together: one hash grid, whose
// buckets and weights all three gathers share, and one set of gather grids
// over the three lookups' column groups side by side (4 per lookup), each
// thread picking its lookup's tables, bias and output. A lookup hashing
// differently (%o: prob, not l1_prob) keeps its own kernels. Few tokens:
// one split grid into a scratch with the three lookups' columns side by
// side, and one grid adding the chunks.
// CHECK-LABEL: func.func @siblings
// CHECK-COUNT-3: memref.alloc(%{{.+}}) {{.+}} : memref<?x32xf32>
// CHECK: %[[TILED:.+]] = arith.muli %{{.+}}, %c12
// CHECK: arith.cmpi ult, %[[TILED]], %c4096
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c16, %{{.+}})
// CHECK: memref.alloc(%{{.+}}) {{.+}} : memref<?x2x96xf32>
// CHECK: %[[SPLIT:.+]] = arith.muli %{{.+}}, %c12
// CHECK: scf.parallel (%{{.+}}, %[[IV:.+]]) = (%c0, %c0) to (%c2, %[[SPLIT]])
// CHECK:   %[[FLAT:.+]] = arith.remui %[[IV]], %c12
// CHECK:   %[[MEMBER:.+]] = arith.divui %[[FLAT]], %c4
// CHECK:   arith.cmpi eq, %[[MEMBER]], %c1
// CHECK:   arith.select %{{.+}} : memref<16x4x32xf16>
// CHECK:   arith.select %{{.+}} : memref<16x4x32xf16>
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%[[SPLIT]])
// CHECK:   arith.select %{{.+}} : memref<32xf32>
// CHECK:   arith.select %{{.+}} : memref<?x32xf32>
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%{{.+}})
// CHECK:   arith.select %{{.+}} : memref<16x4x32xf16>
// CHECK:   scf.for %{{.+}} = %c0 to %c16
// The lookup that hashes with `prob`: its own hash grid.
// CHECK: %[[OTHER:.+]] = arith.muli %{{.+}}, %c4
// CHECK: arith.cmpi ult, %[[OTHER]], %c4096
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c16, %{{.+}})
// CHECK-NOT: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%c16, %{{.+}})
// CHECK: return
func.func @siblings(%x: tensor<?x32xf32>, %tq: tensor<16x4x32xf16>, %bq: tensor<32xf32>,
                    %tk: tensor<16x4x32xf16>, %bk: tensor<32xf32>,
                    %tv: tensor<16x4x32xf16>, %bv: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %q = mnemo.hash_lookup %x, %tq bias %bq weighting<l1_prob> : (tensor<?x32xf32>, tensor<16x4x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %o = mnemo.hash_lookup %x, %tq bias %bq weighting<prob> : (tensor<?x32xf32>, tensor<16x4x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %k = mnemo.hash_lookup %x, %tk bias %bk weighting<l1_prob> : (tensor<?x32xf32>, tensor<16x4x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %v = mnemo.hash_lookup %x, %tv bias %bv weighting<l1_prob> : (tensor<?x32xf32>, tensor<16x4x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %q, %k, %v, %o : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// Memsizer's decoding step: one thread per (sequence, column) updates its
// column of the [k, d] memory and reads it out, scaled by 1/sqrt(count + 1).
// CHECK-LABEL: func.func @step
// CHECK: scf.parallel (%[[B:.+]], %[[C:.+]]) = (%c0, %c0) to (%c3, %c16)
// CHECK:   scf.for %[[S:.+]] = %c0 to %c4 {{.+}} -> (f32)
// CHECK:     memref.store %{{.+}}, %{{.+}}[%[[B]], %[[S]], %[[C]]] : memref<3x4x16xf32>
// CHECK:   math.sqrt
// CHECK:   arith.divf %cst{{.*}}, %{{.+}}
func.func @step(%alpha: tensor<3x4xf32>, %key: tensor<3x4xf32>,
                %value: tensor<3x16xf32>, %state: tensor<3x4x16xf32>,
                %count: tensor<3xi64>) -> (tensor<3x16xf32>, tensor<3x4x16xf32>) {
  %y, %s = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<3x4x16xf32>, tensor<3xi64>
      -> tensor<3x16xf32>, tensor<3x4x16xf32>
  return %y, %s : tensor<3x16xf32>, tensor<3x4x16xf32>
}

// -----

// Linear: one thread per (tile of 8 rows, output), outputs innermost. The
// output's weight row is read 4 f32 (16 bytes) at a time, once per tile,
// and each row of the tile accumulates lane-wise in registers; the lanes
// are added up with the bias at the end, and only rows in range stored.
// With fewer than split-tables-below (4096) such threads, decided at run
// time, the dot products are split in 4 spans of 4 values instead: one
// thread per (span, row x output) into scratch [N, 4, 24], then one per
// (row x output) adds the spans to the bias in order (never with
// split-tables-below=0).
// CHECK-LABEL: func.func @linear
// CHECK: %[[TILES:.+]] = arith.ceildivui %{{.+}}, %c8
// CHECK: %[[THREADS:.+]] = arith.muli %[[TILES]], %c24
// CHECK: %[[SPLIT:.+]] = arith.cmpi ult, %[[THREADS]], %c4096
// CHECK: %[[ROWS:.+]] = arith.select %[[SPLIT]], %{{.+}}, %c0
// CHECK: %[[UNSPLIT:.+]] = arith.select %[[SPLIT]], %c0, %[[TILES]]
// CHECK: %[[PARTS:.+]] = memref.alloc(%[[ROWS]]) {{.+}} : memref<?x4x24xf32>
// CHECK: %[[PAIRS:.+]] = arith.muli %[[ROWS]], %c24
// CHECK: scf.parallel (%[[S:.+]], %[[RO:.+]]) = (%c0, %c0) to (%c4, %[[PAIRS]])
// CHECK:   vector.fma
// CHECK:   vector.reduction <add>
// CHECK:   memref.store %{{.+}}, %[[PARTS]][%{{.+}}, %[[S]], %{{.+}}]
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%[[PAIRS]])
// CHECK-COUNT-4: memref.load %[[PARTS]]
// CHECK: scf.parallel (%[[T:.+]], %[[O:.+]]) = (%c0, %c0) to (%[[UNSPLIT]], %c24)
// CHECK:   scf.for %[[J:.+]] = %c0 to %c16 step %c4 {{.+}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK:     %[[WROW:.+]] = vector.load %{{.+}}[%[[O]], %[[J]]] : memref<24x16xf32>, vector<4xf32>
// CHECK:     %[[XROW:.+]] = vector.load %{{.+}}[%{{.+}}, %[[J]]] : memref<?x16xf32, strided<[?, 1], offset: ?>>, vector<4xf32>
// CHECK:     vector.fma %[[XROW]], %[[WROW]], %{{.+}} : vector<4xf32>
// CHECK-COUNT-7: vector.fma
// CHECK:   vector.reduction <add>, %{{.+}} : vector<4xf32> into f32
// CHECK:   scf.if
// CHECK:     memref.store
// CHECK: memref.dealloc %[[PARTS]]
// NEVER-LABEL: func.func @linear
// NEVER: %[[TILES:.+]] = arith.ceildivui %{{.+}}, %c8
// NEVER-NOT: memref.alloc({{.+}}) {{.+}} : memref<?x4x24xf32>
// NEVER: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%[[TILES]], %c24)
// NEVER-NOT: scf.parallel
// NEVER: return
// With aligned operands the weight is assumed 16-byte aligned.
// TWO-LABEL: func.func @linear
// TWO: scf.parallel
// TWO:   memref.assume_alignment %{{.+}}, 16 : memref<24x16xf32>
// TWO:   scf.for {{.+}} -> (vector<4xf32>, vector<4xf32>) {
func.func @linear(%x: tensor<?x16xf32>, %w: tensor<24x16xf32>, %b: tensor<24xf32>) -> tensor<?x24xf32> {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<24x16xf32>, tensor<24xf32>) -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// Attention through a scratch of at most 2^24 scores: the queries go in
// chunks of as many as fit (a host loop, at least one query, at most N);
// per chunk one thread per (head x query, key) writes a score (keys past
// the causal limit are skipped), then one per (query, column) takes its
// head's largest score, the softmax's sum and the column's weighted sum of
// values.
// CHECK-LABEL: func.func @attention
// CHECK: %[[PERQ:.+]] = arith.maxui %{{.+}}, %c1
// CHECK: %[[FIT:.+]] = arith.divui %c16777216, %[[PERQ]]
// CHECK: %[[CHUNK:.+]] = arith.minui
// CHECK: %[[SCORES:.+]] = memref.alloc(%[[CHUNK]], %[[M:.+]]) {{.+}} : memref<2x?x?xf32>
// CHECK: scf.for %[[FIRST:.+]] = %c0 to %[[N:.+]] step %[[CHUNK]]
// CHECK:   %[[ROWS:.+]] = arith.minui %[[CHUNK]]
// CHECK:   %[[HQ:.+]] = arith.muli %[[ROWS]], %c2
// CHECK:   scf.parallel (%[[X:.+]], %[[J:.+]]) = (%c0, %c0) to (%[[HQ]], %[[M]])
// CHECK:     %[[H:.+]] = arith.divui %[[X]], %[[ROWS]]
// CHECK:     %[[ROW:.+]] = arith.remui %[[X]], %[[ROWS]]
// CHECK:     scf.if
// CHECK:       memref.store %{{.+}}, %[[SCORES]][%[[H]], %[[ROW]], %[[J]]]
// CHECK:   scf.parallel (%{{.+}}, %[[C:.+]]) = (%c0, %c0) to (%[[ROWS]], %c16)
// CHECK:     arith.divui %[[C]], %c8
// CHECK:     arith.maximumf
// CHECK:     math.exp
// CHECK:     arith.divf
// CHECK: memref.dealloc %[[SCORES]]
func.func @attention(%q: tensor<?x16xf32>, %k: tensor<?x16xf32>, %v: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %o = mnemo.causal_attention %q, %k, %v heads 2 scale 0.353553385 : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}

// -----

// Memsizer's prefill: one thread per memory column walks the tokens in
// order, the column's 4 slots carried in registers across them (loop
// values, not stores to memory), the new state stored once at the end.
// CHECK-LABEL: func.func @prefill
// CHECK: %[[STATE:.+]] = memref.alloc() {{.+}} : memref<4x16xf32>
// CHECK: scf.parallel (%[[C:.+]]) = (%c0) to (%c16)
// CHECK:   %[[COLUMN:.+]]:4 = scf.for {{.+}} iter_args({{.+}}) -> (f32, f32, f32, f32)
// CHECK-NOT: memref.store %{{.+}}, %[[STATE]][
// CHECK:     scf.yield
// CHECK:   memref.store %[[COLUMN]]#0, %[[STATE]][%c0, %[[C]]]
// CHECK:   memref.store %[[COLUMN]]#3, %[[STATE]][%c3, %[[C]]]
func.func @prefill(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x16xf32>, %state: tensor<4x16xf32>, %start: index) -> (tensor<?x16xf32>, tensor<4x16xf32>) {
  %y, %s1 = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32>
      -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y, %s1 : tensor<?x16xf32>, tensor<4x16xf32>
}

// -----

// A Memsizer state only written back where it came from is updated in
// place by the step's threads: no new state, no copy kernel.
// CHECK-LABEL: func.func @step_in_place
// CHECK-SAME: %[[STATE:[^:]+]]: memref<?x4x16xf32>
// CHECK-NOT: memref<?x4x16xf32> = memref.alloc
// CHECK: scf.parallel
// CHECK:   memref.store %{{.+}}, %[[STATE]][
// CHECK-NOT: bufferization.materialize_in_destination
func.func @step_in_place(%alpha: tensor<?x4xf32>, %key: tensor<?x4xf32>,
                         %value: tensor<?x16xf32>, %state: memref<?x4x16xf32>,
                         %count: tensor<?xi64>) -> tensor<?x16xf32> {
  %s0 = bufferization.to_tensor %state restrict : memref<?x4x16xf32>
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %s0 at %count scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<?x4x16xf32>, tensor<?xi64>
      -> tensor<?x16xf32>, tensor<?x4x16xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state
      : (tensor<?x4x16xf32>, memref<?x4x16xf32>) -> ()
  return %y : tensor<?x16xf32>
}

// -----

// Norms of narrow rows (fewer than 16 elements): one thread per row
// computes the statistics, then one per element normalizes.
// CHECK-LABEL: func.func @norm
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%{{.+}})
// CHECK:   scf.for
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%{{.+}}, %c8)
func.func @norm(%x: tensor<?x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Rows of 64 are split in 8 interleaved parts of 8 elements: one thread per
// (row, part) sums its part (element p + 8 j) and the squared deviations
// from the part's mean into scratch [N, 8]; one per row adds the 8 parts'
// sums in order for the mean, and their deviations corrected by the parts'
// means (8 (mean_p - mean)^2 each); then one per element normalizes.
// CHECK-LABEL: func.func @wide_norm
// CHECK-DAG: %[[SUMS:.+]] = memref.alloc(%[[N:.+]]) {{.+}} : memref<?x8xf32>
// CHECK-DAG: %[[DEVS:.+]] = memref.alloc(%[[N]]) {{.+}} : memref<?x8xf32>
// CHECK: scf.parallel (%[[R:.+]], %[[P:.+]]) = (%c0, %c0) to (%[[N]], %c8)
// CHECK:   scf.for %[[J:.+]] = %c0 to %c8 step %c4
// CHECK:     %[[STRIDE:.+]] = arith.muli %[[J]], %c8
// CHECK:     %[[E:.+]] = arith.addi %[[P]], %[[STRIDE]]
// CHECK:     tensor.extract %{{.+}}[%[[R]], %[[E]]]
// CHECK:   memref.store %{{.+}}, %[[SUMS]][%[[R]], %[[P]]]
// CHECK:   memref.store %{{.+}}, %[[DEVS]][%[[R]], %[[P]]]
// CHECK: scf.parallel (%[[ROW:.+]]) = (%c0) to (%[[N]])
// CHECK-COUNT-8: memref.load %[[SUMS]][%[[ROW]], %{{.+}}]
// CHECK:   arith.divf %{{.+}}, %cst{{.*}} : f32
// CHECK:   memref.load %[[DEVS]][%[[ROW]], %c0]
// CHECK:   math.sqrt
// CHECK: scf.parallel (%{{.+}}, %{{.+}}) = (%c0, %c0) to (%[[N]], %c64)
func.func @wide_norm(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @folded(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %t: tensor<4x16x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{the GPU kernels take lookups without a folded norm or packed tables}}
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 1.0e-8, %t weighting<prob> : (tensor<?x16xf32>, tensor<16xf32>, tensor<4x16x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
