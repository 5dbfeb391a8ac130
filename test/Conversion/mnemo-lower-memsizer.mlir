// RUN: mnemo-opt %s --mnemo-lower-memsizer="vector-width=8 chunk=4" --canonicalize --cse | FileCheck %s

// Chunked prefill, the state updated in place: the scaled alpha and the
// chunk's scores (row t, column i - chunk start, 4 wide) are computed once,
// then each column tile (32 columns: four vectors) walks the
// chunks: outputs from the memory before the chunk plus the causal triangle
// (i <= r), then the chunk's update of the memory, stored back into %state.
// No state copy is allocated and the materialization is gone.
// CHECK-LABEL: func.func @prefill_in_place
// CHECK-SAME: %[[STATE:[^:]+]]: memref<4x64xf32>
// CHECK-NOT: memref<4x64xf32> = memref.alloc
// CHECK: %[[ALPHA:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x4xf32>
// CHECK: %[[SCORES:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x4xf32>
// CHECK: scf.parallel
// CHECK:   math.sqrt
// CHECK:   vector.reduction <add>
// CHECK:   memref.store %{{.+}}, %[[SCORES]]
// CHECK: scf.parallel
// CHECK:   scf.for %[[FIRST:.+]] = %{{.+}} to %{{.+}} step %c4
// CHECK:     scf.for %[[R:.+]] = %{{.+}} to
// CHECK:       scf.for {{.+}} iter_args({{.+}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:         memref.load %[[ALPHA]]
// CHECK:         vector.load %[[STATE]]
// CHECK-COUNT-4: vector.fma
// CHECK:       %[[UPTO:.+]] = arith.addi %[[R]], %c1
// CHECK:       scf.for %{{.+}} = %c0 to %[[UPTO]]
// CHECK:         memref.load %[[SCORES]]
// CHECK-COUNT-4: vector.fma
// CHECK:     scf.for
// CHECK:       vector.load %[[STATE]]
// CHECK:       scf.for
// CHECK-COUNT-4: vector.fma
// CHECK-COUNT-4: vector.store %{{.+}}, %[[STATE]]
// CHECK: memref.dealloc %[[ALPHA]]
// CHECK: memref.dealloc %[[SCORES]]
// CHECK-NOT: materialize_in_destination
// CHECK: return
func.func @prefill_in_place(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x64xf32>,
                            %state: memref<4x64xf32>, %start: index) -> tensor<?x64xf32> {
  %s0 = bufferization.to_tensor %state restrict : memref<4x64xf32>
  %y, %s1 = mnemo.memsizer_prefill %alpha, %keys, %values state %s0 at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x64xf32>, tensor<4x64xf32> -> tensor<?x64xf32>, tensor<4x64xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return %y : tensor<?x64xf32>
}

// A state tensor that is returned gets a new buffer, filled from the old one.
// Without scaling, no square root is taken.
// CHECK-LABEL: func.func @prefill_copy
// CHECK-NOT: math.sqrt
// CHECK: %[[NEW:.+]] = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK:   vector.store %{{.+}}, %[[NEW]]
// CHECK: bufferization.to_tensor %[[NEW]] restrict writable
func.func @prefill_copy(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x8xf32>,
                        %state: tensor<4x8xf32>, %start: index) -> (tensor<?x8xf32>, tensor<4x8xf32>) {
  %y, %s = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<none>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x8xf32>, tensor<4x8xf32>
  return %y, %s : tensor<?x8xf32>, tensor<4x8xf32>
}

// The decoding step is one pass over the state: per slot, load, rank-1
// update, store, and accumulate the read-out; 1/sqrt(count + 1) scales it.
// One small sequence runs on the calling thread. d = 40 is one tile of 32
// columns (four vectors) and a tail tile of one vector.
// CHECK-LABEL: func.func @step
// CHECK-SAME: %[[STATE:[^:]+]]: memref<1x4x40xf32>
// CHECK-NOT: scf.parallel
// CHECK: tensor.extract %{{.+}} : tensor<1xi64>
// CHECK: math.sqrt
// CHECK: scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: vector.load %[[STATE]]
// CHECK-COUNT-4: vector.fma
// CHECK-COUNT-4: vector.store %{{.+}}, %[[STATE]]
// CHECK-COUNT-4: vector.fma
// CHECK: arith.mulf %{{.+}} : vector<8xf32>
// CHECK: scf.for {{.+}} -> (vector<8xf32>) {
// CHECK:   vector.store %{{.+}}, %[[STATE]]{{.+}}, %c32]
// CHECK-NOT: materialize_in_destination
func.func @step(%alpha: tensor<1x4xf32>, %key: tensor<1x4xf32>, %value: tensor<1x40xf32>,
                %state: memref<1x4x40xf32>, %count: tensor<1xi64>) -> tensor<1x40xf32> {
  %s0 = bufferization.to_tensor %state restrict : memref<1x4x40xf32>
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %s0 at %count scale<rsqrt>
      : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x40xf32>, tensor<1x4x40xf32>, tensor<1xi64>
      -> tensor<1x40xf32>, tensor<1x4x40xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state : (tensor<1x4x40xf32>, memref<1x4x40xf32>) -> ()
  return %y : tensor<1x40xf32>
}

// Batches of unknown size run in parallel over (sequence, column tile).
// CHECK-LABEL: func.func @step_batch
// CHECK: %[[B:.+]] = tensor.dim
// CHECK: %[[NEW:.+]] = memref.alloc(%[[B]]) {alignment = 64 : i64} : memref<?x4x16xf32>
// CHECK: scf.parallel (%[[I:.+]]) = (%c0) to (%[[B]])
func.func @step_batch(%alpha: tensor<?x4xf32>, %key: tensor<?x4xf32>, %value: tensor<?x16xf32>,
                      %state: tensor<?x4x16xf32>, %count: tensor<?xi64>) -> (tensor<?x16xf32>, tensor<?x4x16xf32>) {
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<?x4x16xf32>, tensor<?xi64>
      -> tensor<?x16xf32>, tensor<?x4x16xf32>
  return %y, %s1 : tensor<?x16xf32>, tensor<?x4x16xf32>
}

// The source memory counts the kept rows, scales by 1/sqrt(n_src) (0 for an
// empty source) and skips padding rows with a select, so that their values,
// whatever they are, add nothing.
// CHECK-LABEL: func.func @source_memory
// CHECK: %[[KEPT:.+]] = scf.for {{.+}} -> (index)
// CHECK:   tensor.extract %{{.+}} : tensor<?xi1>
// CHECK:   arith.extui
// CHECK: %[[EMPTY:.+]] = arith.cmpi eq, %[[KEPT]], %c0
// CHECK: arith.select %[[EMPTY]], %cst{{.*}}, %{{.+}} : f32
// CHECK: scf.for
// CHECK:   vector.fma
// CHECK:   arith.select %{{.+}} : vector<8xf32>
func.func @source_memory(%keys: tensor<?x4xf32>, %values: tensor<?x8xf32>, %mask: tensor<?xi1>) -> tensor<4x8xf32> {
  %m = mnemo.memsizer_source_memory %keys, %values mask %mask scale<rsqrt>
      : (tensor<?x4xf32>, tensor<?x8xf32>, tensor<?xi1>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}

// Cross-attention reads the memory by column tiles, in parallel.
// CHECK-LABEL: func.func @cross
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c2)
// CHECK:   scf.for
// CHECK:     scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: vector.fma
func.func @cross(%alpha: tensor<?x4xf32>, %memory: tensor<4x64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.memsizer_cross %alpha, %memory : tensor<?x4xf32>, tensor<4x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// A decoding batch with one source memory per row: row t reads memory
// min(t, M - 1), so M = 1 serves every row.
// CHECK-LABEL: func.func @cross_per_row
// CHECK: %[[M:.+]] = tensor.dim %{{.+}}, %c0 : tensor<?x4x64xf32>
// CHECK: %[[LAST:.+]] = arith.subi %[[M]], %c1
// CHECK: scf.parallel
// CHECK:   scf.for %[[T:.+]] = %c0 to
// CHECK:     %[[W:.+]] = arith.minui %[[T]], %[[LAST]]
// CHECK:     scf.for %[[S:.+]] = %c0 to %c4
// CHECK:       vector.load %{{.+}}[%[[W]], %[[S]], %{{.+}}] : memref<?x4x64xf32, {{.+}}>, vector<8xf32>
func.func @cross_per_row(%alpha: tensor<?x4xf32>, %memory: tensor<?x4x64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.memsizer_cross %alpha, %memory : tensor<?x4xf32>, tensor<?x4x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Alpha: per head, a max-subtracted softmax on vectors of the k = 12 slots
// (8 + 4 lanes), scaled by 1/H and summed.
// CHECK-LABEL: func.func @alpha
// CHECK: scf.parallel
// CHECK:   scf.for {{.+}} -> (vector<8xf32>, vector<4xf32>)
// CHECK:     vector.reduction <maximumf>
// CHECK:     vector.reduction <maximumf>
// CHECK:     math.exp %{{.+}} : vector<8xf32>
// CHECK:     math.exp %{{.+}} : vector<4xf32>
func.func @alpha(%logits: tensor<?x36xf32>) -> tensor<?x12xf32> {
  %a = mnemo.memsizer_alpha %logits heads 3 : tensor<?x36xf32> -> tensor<?x12xf32>
  return %a : tensor<?x12xf32>
}
