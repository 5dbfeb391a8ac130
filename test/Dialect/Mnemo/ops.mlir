// Every mnemo op parses, verifies and prints back to the same form, through
// the custom assembly, the generic form and bytecode.
// RUN: mnemo-opt %s | mnemo-opt | FileCheck %s
// RUN: mnemo-opt %s --mlir-print-op-generic | mnemo-opt | FileCheck %s
// RUN: mnemo-opt %s --emit-bytecode | mnemo-opt | FileCheck %s

// CHECK-LABEL: func.func @hash_lookup_prob
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[T:.+]]: tensor<2x256x32xf16>, %[[B:.+]]: tensor<32xf32>)
// CHECK: mnemo.hash_lookup %[[X]], %[[T]] bias %[[B]] weighting<prob> temperature 5.000000e-01
// CHECK-SAME: : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
func.func @hash_lookup_prob(%x: tensor<?x16xf32>, %t: tensor<2x256x32xf16>,
                            %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> temperature 0.5
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// The default temperature (1.0) is not printed.
// CHECK-LABEL: func.func @hash_lookup_default_temperature
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<prob> :
// CHECK-NOT: temperature
func.func @hash_lookup_default_temperature(%x: tensor<4x16xf32>, %t: tensor<2x256x8xbf16>) -> tensor<4x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> temperature 1.0
      : (tensor<4x16xf32>, tensor<2x256x8xbf16>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// tau = 1 and tau = 16 are the extremes; f32 tables.
// CHECK-LABEL: func.func @hash_lookup_tau_extremes
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<l1_prob> : (tensor<1x3xf32>, tensor<3x2x5xf32>) -> tensor<1x5xf32>
// CHECK: mnemo.hash_lookup %{{.+}}, %{{.+}} weighting<l1_prob> : (tensor<1x16xf32>, tensor<1x65536x2xf32>) -> tensor<1x2xf32>
func.func @hash_lookup_tau_extremes(%x1: tensor<1x3xf32>, %t1: tensor<3x2x5xf32>,
                                    %x16: tensor<1x16xf32>, %t16: tensor<1x65536x2xf32>)
    -> (tensor<1x5xf32>, tensor<1x2xf32>) {
  %a = mnemo.hash_lookup %x1, %t1 weighting<l1_prob>
      : (tensor<1x3xf32>, tensor<3x2x5xf32>) -> tensor<1x5xf32>
  %b = mnemo.hash_lookup %x16, %t16 weighting<l1_prob>
      : (tensor<1x16xf32>, tensor<1x65536x2xf32>) -> tensor<1x2xf32>
  return %a, %b : tensor<1x5xf32>, tensor<1x2xf32>
}

// CHECK-LABEL: func.func @memsizer_alpha
// CHECK: mnemo.memsizer_alpha %{{.+}} heads 8 : tensor<?x256xf32> -> tensor<?x32xf32>
func.func @memsizer_alpha(%logits: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %alpha = mnemo.memsizer_alpha %logits heads 8 : tensor<?x256xf32> -> tensor<?x32xf32>
  return %alpha : tensor<?x32xf32>
}

// CHECK-LABEL: func.func @memsizer_prefill
// CHECK-SAME: (%[[A:.+]]: tensor<?x4xf32>, %[[K:.+]]: tensor<?x4xf32>, %[[V:.+]]: tensor<?x16xf32>, %[[S:.+]]: tensor<4x16xf32>, %[[N:.+]]: index)
// CHECK: %{{.+}}, %{{.+}} = mnemo.memsizer_prefill %[[A]], %[[K]], %[[V]] state %[[S]] at %[[N]] scale<rsqrt>
// CHECK-SAME: : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32> -> tensor<?x16xf32>, tensor<4x16xf32>
// CHECK: mnemo.memsizer_prefill {{.+}} scale<none>
func.func @memsizer_prefill(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>,
                            %values: tensor<?x16xf32>, %state: tensor<4x16xf32>,
                            %start: index) -> (tensor<?x16xf32>, tensor<4x16xf32>) {
  %y, %s = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32>
      -> tensor<?x16xf32>, tensor<4x16xf32>
  %y2, %s2 = mnemo.memsizer_prefill %alpha, %keys, %values state %s at %start scale<none>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32>
      -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y2, %s2 : tensor<?x16xf32>, tensor<4x16xf32>
}

// CHECK-LABEL: func.func @memsizer_step
// CHECK: mnemo.memsizer_step %{{.+}}, %{{.+}}, %{{.+}} state %{{.+}} at %{{.+}} scale<rsqrt>
// CHECK-SAME: : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<3x4x16xf32>, tensor<3xi64> -> tensor<3x16xf32>, tensor<3x4x16xf32>
func.func @memsizer_step(%alpha: tensor<3x4xf32>, %key: tensor<3x4xf32>,
                         %value: tensor<3x16xf32>, %state: tensor<3x4x16xf32>,
                         %count: tensor<3xi64>) -> (tensor<3x16xf32>, tensor<3x4x16xf32>) {
  %y, %s = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<3x4x16xf32>, tensor<3xi64>
      -> tensor<3x16xf32>, tensor<3x4x16xf32>
  return %y, %s : tensor<3x16xf32>, tensor<3x4x16xf32>
}

// CHECK-LABEL: func.func @memsizer_cross
// CHECK: %[[M:.+]] = mnemo.memsizer_source_memory %{{.+}}, %{{.+}} mask %{{.+}} scale<rsqrt> : (tensor<?x4xf32>, tensor<?x16xf32>, tensor<?xi1>) -> tensor<4x16xf32>
// CHECK: mnemo.memsizer_source_memory %{{.+}}, %{{.+}} scale<none> : (tensor<?x4xf32>, tensor<?x16xf32>) -> tensor<4x16xf32>
// CHECK: mnemo.memsizer_cross %{{.+}}, %[[M]] : tensor<?x4xf32>, tensor<4x16xf32> -> tensor<?x16xf32>
// CHECK: mnemo.memsizer_cross %{{.+}}, %{{.+}} : tensor<?x4xf32>, tensor<?x4x16xf32> -> tensor<?x16xf32>
func.func @memsizer_cross(%keys: tensor<?x4xf32>, %values: tensor<?x16xf32>,
                          %keep: tensor<?xi1>, %alpha: tensor<?x4xf32>,
                          %memories: tensor<?x4x16xf32>)
    -> (tensor<?x16xf32>, tensor<4x16xf32>, tensor<?x16xf32>) {
  %m = mnemo.memsizer_source_memory %keys, %values mask %keep scale<rsqrt>
      : (tensor<?x4xf32>, tensor<?x16xf32>, tensor<?xi1>) -> tensor<4x16xf32>
  %m2 = mnemo.memsizer_source_memory %keys, %values scale<none>
      : (tensor<?x4xf32>, tensor<?x16xf32>) -> tensor<4x16xf32>
  %y = mnemo.memsizer_cross %alpha, %m : tensor<?x4xf32>, tensor<4x16xf32> -> tensor<?x16xf32>
  %z = mnemo.memsizer_cross %alpha, %memories : tensor<?x4xf32>, tensor<?x4x16xf32> -> tensor<?x16xf32>
  return %y, %m2, %z : tensor<?x16xf32>, tensor<4x16xf32>, tensor<?x16xf32>
}

// CHECK-LABEL: func.func @norms
// CHECK: mnemo.rms_norm %{{.+}}, %{{.+}} eps 9.99999993E-9 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
// CHECK: mnemo.layer_norm %{{.+}}, %{{.+}}, %{{.+}} eps 9.99999974E-6 : tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<?x16xf32>
func.func @norms(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %0 = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %1 = mnemo.layer_norm %0, %g, %b eps 1.0e-5 : tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  return %1 : tensor<?x16xf32>
}

// CHECK-LABEL: func.func @rotary
// CHECK: mnemo.rotary %{{.+}}, %{{.+}} heads 4 dims 8 base 1.000000e+04 : tensor<?x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
func.func @rotary(%q: tensor<?x64xf32>, %pos: tensor<?xi64>) -> tensor<?x64xf32> {
  %0 = mnemo.rotary %q, %pos heads 4 dims 8 base 10000.0 : tensor<?x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @causal_attention
// CHECK: mnemo.causal_attention %{{.+}}, %{{.+}}, %{{.+}} heads 4 scale 2.500000e-01 : tensor<1x64xf32>, tensor<?x64xf32>, tensor<?x64xf32> -> tensor<1x64xf32>
func.func @causal_attention(%q: tensor<1x64xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>) -> tensor<1x64xf32> {
  %0 = mnemo.causal_attention %q, %k, %v heads 4 scale 0.25
      : tensor<1x64xf32>, tensor<?x64xf32>, tensor<?x64xf32> -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// CHECK-LABEL: func.func @embedding
// CHECK: mnemo.embedding %{{.+}}[%{{.+}}] : tensor<100x16xbf16>, tensor<?xi64> -> tensor<?x16xf32>
func.func @embedding(%table: tensor<100x16xbf16>, %ids: tensor<?xi64>) -> tensor<?x16xf32> {
  %0 = mnemo.embedding %table[%ids] : tensor<100x16xbf16>, tensor<?xi64> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// The forms compiler passes produce: a folded norm, packed tables, a
// tiling.
// CHECK-LABEL: func.func @hash_lookup_compiled_forms
// CHECK: mnemo.hash_lookup %{{.+}} normalized by layer_norm(%{{.+}}, %{{.+}}) eps 9.99999974E-6, %{{.+}} bias %{{.+}} weighting<l1_prob>
// CHECK-SAME: {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 8, tables = 2, prefetch = 1, parallel = columns>}
// CHECK-SAME: : (tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<4x2x256x8xf16>, tensor<32xf32>) -> tensor<?x32xf32>
// CHECK: mnemo.hash_lookup %{{.+}} normalized by rms_norm(%{{.+}}) eps 9.99999993E-9, %{{.+}} weighting<prob>
func.func @hash_lookup_compiled_forms(%x: tensor<?x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>,
                                      %t: tensor<4x2x256x8xf16>, %bias: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %y = mnemo.hash_lookup %x normalized by layer_norm(%g, %b) eps 1.0e-5, %t bias %bias weighting<l1_prob>
      {tiling = #mnemo.lookup_tiling<tokens = 64, columns = 8, tables = 2, prefetch = 1, parallel = columns>}
      : (tensor<?x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<4x2x256x8xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %z = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 1.0e-8, %t weighting<prob>
      : (tensor<?x16xf32>, tensor<16xf32>, tensor<4x2x256x8xf16>) -> tensor<?x32xf32>
  return %y, %z : tensor<?x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK: mnemo.linear %{{.+}}, %{{.+}} bias %{{.+}} : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x64xf32>
// CHECK: mnemo.linear %{{.+}}, %{{.+}} : (tensor<1x64xf32>, tensor<16x64xf32>) -> tensor<1x16xf32>
func.func @linear(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>, %b: tensor<64xf32>,
                  %x1: tensor<1x64xf32>, %w2: tensor<16x64xf32>) -> (tensor<?x64xf32>, tensor<1x16xf32>) {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %z = mnemo.linear %x1, %w2 : (tensor<1x64xf32>, tensor<16x64xf32>) -> tensor<1x16xf32>
  return %y, %z : tensor<?x64xf32>, tensor<1x16xf32>
}
