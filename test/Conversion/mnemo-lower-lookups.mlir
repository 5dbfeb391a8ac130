// The CPU code generator: what a tiled Memory Layer becomes.
// RUN: mnemo-opt %s -split-input-file -mnemo-lower-lookups="vector-width=16" -canonicalize | FileCheck %s

// tau = 8, f16 packed tables, bias, prob with t = 0.5, column tiles across
// threads, two tables in one pass.
// CHECK-LABEL: func.func @packed_f16
// CHECK-DAG: %[[BITS:.+]] = arith.constant dense<[128, 64, 32, 16, 8, 4, 2, 1, 128, 64, 32, 16, 8, 4, 2, 1]> : vector<16xi32>
// CHECK-DAG: %[[SCALE:.+]] = arith.constant dense<-4.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[X:.+]] = bufferization.to_memref %{{.+}} read_only : memref<?x16xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[T:.+]] = bufferization.to_memref %{{.+}} read_only : memref<2x2x256x16xf16>
// CHECK-DAG: %[[FLAT:.+]] = memref.collapse_shape %[[T]] {{\[}}[0, 1, 2, 3]] : memref<2x2x256x16xf16> into memref<16384xf16>
// CHECK: %[[OUT:.+]] = memref.alloc(%[[N:.+]]) {alignment = 64 : i64} : memref<?x32xf32>
// CHECK: %[[BUCKETS:.+]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<1x?x2xi32>
// CHECK: %[[WEIGHTS:.+]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<1x?x2xf32>
//
// Hashing: whole-row vectors, in parallel tiles when there are more than
// 16 tokens.
// CHECK: scf.if
// CHECK: scf.parallel
// CHECK: %[[Z:.+]] = vector.load %[[X]]{{.+}} vector<16xf32>
// CHECK: %[[NONNEG:.+]] = arith.cmpf oge, %[[Z]]
// CHECK: arith.select %[[NONNEG]], %[[BITS]]
// CHECK: %[[ABS:.+]] = math.absf %[[Z]]
// CHECK: arith.mulf %[[ABS]], %[[SCALE]]
// CHECK: math.fma
// CHECK-COUNT-3: vector.shuffle {{.+}} : vector<16xi32>, vector<16xi32>
// CHECK-COUNT-3: vector.shuffle {{.+}} : vector<16xf32>, vector<16xf32>
// CHECK: arith.divf
// CHECK: vector.store %{{.+}}, %[[BUCKETS]]{{.+}} : memref<1x?x2xi32>, vector<2xi32>
// CHECK: vector.store %{{.+}}, %[[WEIGHTS]]{{.+}} : memref<1x?x2xf32>, vector<2xf32>
// CHECK: } else {
//
// Gathering: column tiles in parallel, slices of the next pass prefetched
// when there are many tokens (a run-time test: the count is dynamic), f16
// rows widened before the FMA, results stored in the output.
// CHECK: scf.parallel (%[[C:.+]]) = (%{{.+}}) to (%{{.+}}) step
// CHECK: %[[MANY:.+]] = arith.cmpi sge, %{{.+}}, %{{.+}} : index
// CHECK: scf.if %[[MANY]] {
// CHECK: memref.prefetch %[[FLAT]][%{{.+}}], read, locality<2>, data
// CHECK: %[[ROW:.+]] = vector.load %[[T]][%[[C]], %{{.+}}, %{{.+}}, %{{.+}}] : memref<2x2x256x16xf16>, vector<16xf16>
// CHECK: %[[WIDE:.+]] = arith.extf %[[ROW]] : vector<16xf16> to vector<16xf32>
// CHECK: vector.fma %{{.+}}, %[[WIDE]], %{{.+}} : vector<16xf32>
// CHECK: vector.store %{{.+}}, %[[OUT]]
// CHECK: memref.dealloc %[[BUCKETS]]
// CHECK: memref.dealloc %[[WEIGHTS]]
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable : memref<?x32xf32>
func.func @packed_f16(%x: tensor<?x16xf32>, %t: tensor<2x2x256x16xf16>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> temperature 0.5
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 16, tables = 2, prefetch = 1, parallel = columns>}
      : (tensor<?x16xf32>, tensor<2x2x256x16xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// tau = 4, K = 16: the row is one group of tau = 4 vectors (V = 16 chunks),
// reduced across one another: pairs of neighbouring lanes of two vectors
// per level, taken within 128-bit blocks (even lanes + odd lanes, one
// instruction each), two levels, then one division for the 16 weights. The
// blocks leave the chunks transposed (lane 1 holds chunk 4); one shuffle
// each puts the buckets and weights in order, stored as two passes of
// U = 8 entries. Each vector's terms
// (exp(-2|z|) clamped at -20, by a polynomial and 2^n built in the exponent
// bits) are computed right before it is reduced, so few are live at once.
// CHECK-LABEL: func.func @grouped
// CHECK-DAG: %[[BITS:.+]] = arith.constant dense<[8, 4, 2, 1, 8, 4, 2, 1, 8, 4, 2, 1, 8, 4, 2, 1]> : vector<16xi32>
// CHECK-DAG: %[[LOW:.+]] = arith.constant dense<-2.000000e+01> : vector<16xf32>
// CHECK-DAG: %[[SHIFTER:.+]] = arith.constant dense<0x4B400000> : vector<16xf32>
// CHECK-DAG: %[[C23:.+]] = arith.constant dense<23> : vector<16xi32>
// CHECK-DAG: %[[BIAS:.+]] = arith.constant dense<1065353216> : vector<16xi32>
// CHECK: %[[BUCKETS:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<2x?x8xi32>
// CHECK: %[[WEIGHTS:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<2x?x8xf32>
// CHECK: scf.parallel
// CHECK: scf.for %[[TOKEN:.+]] = %{{.+}} to %{{.+}} step %c1 {
// CHECK: %[[Z0:.+]] = vector.load %{{.+}}[%[[TOKEN]], %c0] : {{.+}}, vector<16xf32>
// CHECK: %[[B0:.+]] = arith.select %{{.+}}, %[[BITS]]
// CHECK: %[[A0:.+]] = math.absf %[[Z0]]
// CHECK: %[[X:.+]] = arith.mulf %[[A0]]
// CHECK: %[[BELOW:.+]] = arith.cmpf olt, %[[X]], %[[LOW]]
// CHECK: %[[XC:.+]] = arith.select %[[BELOW]], %[[LOW]], %[[X]]
// CHECK: %[[SHIFTED:.+]] = math.fma %[[XC]], %{{.+}}, %[[SHIFTER]]
// CHECK-NOT: math.exp
// CHECK: %[[INT:.+]] = arith.bitcast %[[SHIFTED]] : vector<16xf32> to vector<16xi32>
// CHECK: %[[EXPBITS:.+]] = arith.shli %[[INT]], %[[C23]]
// CHECK: arith.addi %[[EXPBITS]], %[[BIAS]]
// CHECK: %[[D0:.+]] = arith.addf
// CHECK: %[[Z1:.+]] = vector.load %{{.+}}[%[[TOKEN]], %c16] : {{.+}}, vector<16xf32>
// CHECK: %[[B1:.+]] = arith.select %{{.+}}, %[[BITS]]
// CHECK: %[[A1:.+]] = math.absf %[[Z1]]
// CHECK: arith.shli %{{.+}}, %[[C23]]
// CHECK: %[[D1:.+]] = arith.addf
// CHECK-NOT: vector.load
// CHECK: %[[BE:.+]] = vector.shuffle %[[B0]], %[[B1]] [0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30]
// CHECK: %[[BO:.+]] = vector.shuffle %[[B0]], %[[B1]] [1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31]
// CHECK: %[[B01:.+]] = arith.addi %[[BE]], %[[BO]] : vector<16xi32>
// CHECK: %[[AE:.+]] = vector.shuffle %[[A0]], %[[A1]] [0, 2, 16
// CHECK: %[[AO:.+]] = vector.shuffle %[[A0]], %[[A1]] [1, 3, 17
// CHECK: %[[A01:.+]] = arith.addf %[[AE]], %[[AO]] : vector<16xf32>
// CHECK: %[[DE:.+]] = vector.shuffle %[[D0]], %[[D1]] [0, 2, 16
// CHECK: %[[DO:.+]] = vector.shuffle %[[D0]], %[[D1]] [1, 3, 17
// CHECK: %[[D01:.+]] = arith.mulf %[[DE]], %[[DO]] : vector<16xf32>
// CHECK: vector.load %{{.+}}[%[[TOKEN]], %c32]
// CHECK: vector.load %{{.+}}[%[[TOKEN]], %c48]
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [1, 3, 17
// CHECK-NEXT: %[[B23:.+]] = arith.addi %{{.+}}, %{{.+}} : vector<16xi32>
// CHECK: %[[A23:.+]] = arith.addf %{{.+}}, %{{.+}} : vector<16xf32>
// CHECK: %[[D23:.+]] = arith.mulf %{{.+}}, %{{.+}} : vector<16xf32>
// CHECK: vector.shuffle %[[B01]], %[[B23]] [0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30]
// CHECK: vector.shuffle %[[B01]], %[[B23]] [1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31]
// CHECK: %[[BALL:.+]] = arith.addi
// CHECK: vector.shuffle %[[A01]], %[[A23]] [0, 2, 16
// CHECK: vector.shuffle %[[A01]], %[[A23]] [1, 3, 17
// CHECK: %[[AALL:.+]] = arith.addf
// CHECK: vector.shuffle %[[D01]], %[[D23]] [0, 2, 16
// CHECK: vector.shuffle %[[D01]], %[[D23]] [1, 3, 17
// CHECK: %[[DALL:.+]] = arith.mulf
// CHECK: %[[WT:.+]] = arith.divf %[[AALL]], %[[DALL]] : vector<16xf32>
// CHECK-NOT: arith.divf
// CHECK: %[[BORD:.+]] = vector.shuffle %[[BALL]], %[[BALL]] [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]
// CHECK: %[[W:.+]] = vector.shuffle %[[WT]], %[[WT]] [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]
// CHECK: %[[BLO:.+]] = vector.extract_strided_slice %[[BORD]] {offsets = [0], sizes = [8], strides = [1]}
// CHECK: vector.store %[[BLO]], %[[BUCKETS]][%c0, %[[TOKEN]], %c0] : memref<2x?x8xi32>, vector<8xi32>
// CHECK: %[[WLO:.+]] = vector.extract_strided_slice %[[W]] {offsets = [0], sizes = [8], strides = [1]}
// CHECK: vector.store %[[WLO]], %[[WEIGHTS]][%c0, %[[TOKEN]], %c0] : memref<2x?x8xf32>, vector<8xf32>
// CHECK: %[[BHI:.+]] = vector.extract_strided_slice %[[BORD]] {offsets = [8], sizes = [8], strides = [1]}
// CHECK: vector.store %[[BHI]], %[[BUCKETS]][%c1, %[[TOKEN]], %c0] : memref<2x?x8xi32>, vector<8xi32>
// CHECK: %[[WHI:.+]] = vector.extract_strided_slice %[[W]] {offsets = [8], sizes = [8], strides = [1]}
// CHECK: vector.store %[[WHI]], %[[WEIGHTS]][%c1, %[[TOKEN]], %c0] : memref<2x?x8xf32>, vector<8xf32>
// CHECK: } else {
func.func @grouped(%x: tensor<?x64xf32>, %t: tensor<16x16x16xf32>) -> tensor<?x16xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 16, tables = 8, prefetch = 0, parallel = columns>}
      : (tensor<?x64xf32>, tensor<16x16x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Four passes of two tables: the middle passes are a loop whose pass index
// is computed once, outside the token loop; within a pass each table's
// bucket and weight are at static positions of the token's block.
// CHECK-LABEL: func.func @passes
// CHECK: %[[BUCKETS:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<4x?x2xi32>
// CHECK: %[[WEIGHTS:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<4x?x2xf32>
// CHECK: scf.for %[[K:.+]] = %c2 to %c6 step %c2 {
// CHECK-NEXT: %[[PASS:.+]] = arith.divui %[[K]], %c2 : index
// CHECK-NEXT: scf.for %{{.+}} = %c0 to %{{.+}} step %c1 {
// CHECK-NOT: arith.divui
// CHECK-NOT: arith.remui
// CHECK: memref.load %[[BUCKETS]][%[[PASS]], %[[SLOT:.+]], %c0] : memref<4x?x2xi32>
// CHECK: memref.load %[[WEIGHTS]][%[[PASS]], %[[SLOT]], %c0] : memref<4x?x2xf32>
// CHECK: vector.load %{{.+}}[%[[K]], %{{.+}}, %c0] : memref<8x4x16xf32>, vector<16xf32>
// CHECK: %[[NEXT:.+]] = arith.addi %[[K]], %c1 : index
// CHECK: memref.load %[[BUCKETS]][%[[PASS]], %[[SLOT]], %c1] : memref<4x?x2xi32>
// CHECK: memref.load %[[WEIGHTS]][%[[PASS]], %[[SLOT]], %c1] : memref<4x?x2xf32>
// CHECK: vector.load %{{.+}}[%[[NEXT]], %{{.+}}, %c0] : memref<8x4x16xf32>, vector<16xf32>
// CHECK: vector.store
// CHECK-NEXT: }
// CHECK-NEXT: }
func.func @passes(%x: tensor<?x16xf32>, %t: tensor<8x4x16xf32>) -> tensor<?x16xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 16, tables = 2, prefetch = 0, parallel = columns>}
      : (tensor<?x16xf32>, tensor<8x4x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// tau = 7 does not divide the vector width: one vector<7xf32> per chunk,
// after the row's RMS statistics. Token tiles across threads, unpacked
// tables, one table per pass: the accumulators go through a tile buffer
// between passes.
// CHECK-LABEL: func.func @chunked_norm
// CHECK-DAG: %[[BITS:.+]] = arith.constant dense<[64, 32, 16, 8, 4, 2, 1]> : vector<7xi32>
// CHECK: %[[OUT:.+]] = memref.alloc() {alignment = 64 : i64} : memref<5x8xf32>
// CHECK: scf.parallel
// CHECK: %[[BUCKETS:.+]] = memref.alloca() : memref<2x4x1xi32>
// CHECK: %[[WEIGHTS:.+]] = memref.alloca() : memref<2x4x1xf32>
// CHECK: %[[ACC:.+]] = memref.alloca() : memref<4x8xf32>
// The row (14 values, less than a vector) is reduced as one tail vector.
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<14xf32> into f32
// CHECK: math.sqrt
// CHECK: vector.load %{{.+}} : memref<5x14xf32, strided<[?, 1], offset: ?>>, vector<7xf32>
// CHECK: arith.select %{{.+}}, %[[BITS]]
// CHECK: vector.reduction <add>, %{{.+}} : vector<7xi32> into i32
// CHECK: vector.reduction <mul>, %{{.+}} fastmath<reassoc> : vector<7xf32> into f32
// CHECK: memref.store %{{.+}}, %[[BUCKETS]]
// CHECK: vector.store %{{.+}}, %[[ACC]]
// CHECK: vector.load %[[ACC]]
// CHECK: vector.store %{{.+}}, %[[OUT]]
func.func @chunked_norm(%x: tensor<5x14xf32>, %g: tensor<14xf32>, %t: tensor<2x128x8xf32>) -> tensor<5x8xf32> {
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 1.0e-8, %t weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 4, columns = 8, tables = 1, prefetch = 0, parallel = tokens>}
      : (tensor<5x14xf32>, tensor<14xf32>, tensor<2x128x8xf32>) -> tensor<5x8xf32>
  return %y : tensor<5x8xf32>
}
