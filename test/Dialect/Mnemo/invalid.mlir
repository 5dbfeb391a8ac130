// Every verifier message of the mnemo ops, one case each.
// RUN: mnemo-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// mnemo.hash_lookup
//===----------------------------------------------------------------------===//

func.func @input_not_f32(%x: tensor<4x16xf16>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #0 must be 2D tensor of 32-bit float values, but got 'tensor<4x16xf16>'}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf16>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tables_integer(%x: tensor<4x16xf32>, %t: tensor<2x256x8xi8>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand #1 must be 3D/4D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x256x8xi8>'}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<2x256x8xi8>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tables_dynamic(%x: tensor<4x16xf32>, %t: tensor<2x?x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{tables must have a static shape [K, 2^tau, h], got [2, ?, 8]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<2x?x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @no_tables(%x: tensor<4x0xf32>, %t: tensor<0x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{tables must hold at least one table and one output column, got [K, 2^tau, h] = [0, 256, 8]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x0xf32>, tensor<0x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @rows_not_power_of_two(%x: tensor<4x16xf32>, %t: tensor<2x300x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{tables must have 2^tau rows per table, got 300 rows, which is not a power of two}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<2x300x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tau_17(%x: tensor<4x17xf32>, %t: tensor<1x131072x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{bits per table must be in [1, 16], got tau = 17 (131072 rows per table)}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x17xf32>, tensor<1x131072x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tau_0(%x: tensor<4x0xf32>, %t: tensor<2x1x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{bits per table must be in [1, 16], got tau = 0 (1 row per table)}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x0xf32>, tensor<2x1x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @input_width_dynamic(%x: tensor<4x?xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input width must be static, got [4, ?]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x?xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @input_width_mismatch(%x: tensor<4x100xf32>, %t: tensor<8x4096x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input width 100 must equal num_tables * bits_per_table = 8 * 12 = 96}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x100xf32>, tensor<8x4096x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @bias_width(%x: tensor<4x16xf32>, %t: tensor<2x256x32xf32>, %b: tensor<31xf32>) -> tensor<4x32xf32> {
  // expected-error @+1 {{bias width 31 must equal the table row width h = 32}}
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> : (tensor<4x16xf32>, tensor<2x256x32xf32>, tensor<31xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

func.func @result_shape(%x: tensor<4x16xf32>, %t: tensor<2x256x32xf32>) -> tensor<4x31xf32> {
  // expected-error @+1 {{result must have shape [4, 32], got [4, 31]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<2x256x32xf32>) -> tensor<4x31xf32>
  return %y : tensor<4x31xf32>
}

// -----

func.func @temperature_negative(%x: tensor<4x16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{temperature must be a positive finite number, got -1}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> temperature -1.0 : (tensor<4x16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @temperature_with_l1_prob(%x: tensor<4x16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{temperature 0.5 has no effect with weighting<l1_prob>, which has no temperature; use weighting<prob>}}
  %y = mnemo.hash_lookup %x, %t weighting<l1_prob> temperature 0.5 : (tensor<4x16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.memsizer_alpha
//===----------------------------------------------------------------------===//

// -----

func.func @alpha_heads(%l: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{num_heads must be positive, got 0}}
  %a = mnemo.memsizer_alpha %l heads 0 : tensor<4x64xf32> -> tensor<4x64xf32>
  return %a : tensor<4x64xf32>
}

// -----

func.func @alpha_dynamic_width(%l: tensor<4x?xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{logits width must be static, got [4, ?]}}
  %a = mnemo.memsizer_alpha %l heads 8 : tensor<4x?xf32> -> tensor<4x8xf32>
  return %a : tensor<4x8xf32>
}

// -----

func.func @alpha_width_not_multiple(%l: tensor<4x100xf32>) -> tensor<4x12xf32> {
  // expected-error @+1 {{logits width 100 must be a multiple of num_heads = 8 (one block of k memory slots per head)}}
  %a = mnemo.memsizer_alpha %l heads 8 : tensor<4x100xf32> -> tensor<4x12xf32>
  return %a : tensor<4x12xf32>
}

// -----

func.func @alpha_shape(%l: tensor<4x64xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{alpha must have shape [4, 8], got [4, 16]}}
  %a = mnemo.memsizer_alpha %l heads 8 : tensor<4x64xf32> -> tensor<4x16xf32>
  return %a : tensor<4x16xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.memsizer_prefill
//===----------------------------------------------------------------------===//

// -----

func.func @prefill_state_dynamic(%a: tensor<?x4xf32>, %v: tensor<?x16xf32>, %s: tensor<?x16xf32>, %n: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{state must have a static shape [k, d], got [?, 16]}}
  %y, %s1 = mnemo.memsizer_prefill %a, %a, %v state %s at %n scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @prefill_alpha_width(%a: tensor<?x5xf32>, %k: tensor<?x4xf32>, %v: tensor<?x16xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{alpha width 5 must equal the number of memory slots k = 4}}
  %y, %s1 = mnemo.memsizer_prefill %a, %k, %v state %s at %n scale<rsqrt>
      : tensor<?x5xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32> -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @prefill_keys_width(%a: tensor<?x4xf32>, %k: tensor<?x3xf32>, %v: tensor<?x16xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{keys width 3 must equal the number of memory slots k = 4}}
  %y, %s1 = mnemo.memsizer_prefill %a, %k, %v state %s at %n scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x3xf32>, tensor<?x16xf32>, tensor<4x16xf32> -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @prefill_values_width(%a: tensor<?x4xf32>, %v: tensor<?x15xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<?x16xf32> {
  // expected-error @+1 {{values width 15 must equal the memory width d = 16}}
  %y, %s1 = mnemo.memsizer_prefill %a, %a, %v state %s at %n scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x15xf32>, tensor<4x16xf32> -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @prefill_rows(%a: tensor<3x4xf32>, %k: tensor<3x4xf32>, %v: tensor<5x16xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<3x16xf32> {
  // expected-error @+1 {{alpha, keys and values must have the same number of rows, got 3, 3 and 5}}
  %y, %s1 = mnemo.memsizer_prefill %a, %k, %v state %s at %n scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<5x16xf32>, tensor<4x16xf32> -> tensor<3x16xf32>, tensor<4x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

func.func @prefill_output(%a: tensor<3x4xf32>, %v: tensor<3x16xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<3x4xf32> {
  // expected-error @+1 {{output must have shape [3, 16], got [3, 4]}}
  %y, %s1 = mnemo.memsizer_prefill %a, %a, %v state %s at %n scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<4x16xf32> -> tensor<3x4xf32>, tensor<4x16xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @prefill_new_state(%a: tensor<3x4xf32>, %v: tensor<3x16xf32>, %s: tensor<4x16xf32>, %n: index) -> tensor<16x4xf32> {
  // expected-error @+1 {{new_state must have shape [4, 16], got [16, 4]}}
  %y, %s1 = mnemo.memsizer_prefill %a, %a, %v state %s at %n scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<4x16xf32> -> tensor<3x16xf32>, tensor<16x4xf32>
  return %s1 : tensor<16x4xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.memsizer_step
//===----------------------------------------------------------------------===//

// -----

func.func @step_state_dynamic(%a: tensor<2x4xf32>, %v: tensor<2x16xf32>, %s: tensor<2x4x?xf32>, %c: tensor<2xi64>) -> tensor<2x16xf32> {
  // expected-error @+1 {{state must have static memory dimensions [B, k, d], got [2, 4, ?]}}
  %y, %s1 = mnemo.memsizer_step %a, %a, %v state %s at %c scale<rsqrt>
      : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x16xf32>, tensor<2x4x?xf32>, tensor<2xi64> -> tensor<2x16xf32>, tensor<2x4x?xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @step_key_width(%a: tensor<2x4xf32>, %k: tensor<2x8xf32>, %v: tensor<2x16xf32>, %s: tensor<2x4x16xf32>, %c: tensor<2xi64>) -> tensor<2x16xf32> {
  // expected-error @+1 {{key width 8 must equal the number of memory slots k = 4}}
  %y, %s1 = mnemo.memsizer_step %a, %k, %v state %s at %c scale<rsqrt>
      : tensor<2x4xf32>, tensor<2x8xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2xi64> -> tensor<2x16xf32>, tensor<2x4x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @step_batch(%a: tensor<2x4xf32>, %v: tensor<2x16xf32>, %s: tensor<2x4x16xf32>, %c: tensor<3xi64>) -> tensor<2x16xf32> {
  // expected-error @+1 {{state, alpha and count must have the same batch size, got 2, 2 and 3}}
  %y, %s1 = mnemo.memsizer_step %a, %a, %v state %s at %c scale<rsqrt>
      : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<3xi64> -> tensor<2x16xf32>, tensor<2x4x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @step_new_state(%a: tensor<2x4xf32>, %v: tensor<2x16xf32>, %s: tensor<2x4x16xf32>, %c: tensor<2xi64>) -> tensor<2x16xf32> {
  // expected-error @+1 {{new_state must have shape [2, 4, 16], got [1, 4, 16]}}
  %y, %s1 = mnemo.memsizer_step %a, %a, %v state %s at %c scale<rsqrt>
      : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x16xf32>, tensor<2x4x16xf32>, tensor<2xi64> -> tensor<2x16xf32>, tensor<1x4x16xf32>
  return %y : tensor<2x16xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.memsizer_source_memory, mnemo.memsizer_cross
//===----------------------------------------------------------------------===//

// -----

func.func @source_memory_dynamic(%k: tensor<?x4xf32>, %v: tensor<?x16xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{memory must have a static shape [k, d], got [4, ?]}}
  %m = mnemo.memsizer_source_memory %k, %v scale<rsqrt> : (tensor<?x4xf32>, tensor<?x16xf32>) -> tensor<4x?xf32>
  return %m : tensor<4x?xf32>
}

// -----

func.func @source_memory_keys(%k: tensor<?x5xf32>, %v: tensor<?x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{keys width 5 must equal the number of memory slots k = 4}}
  %m = mnemo.memsizer_source_memory %k, %v scale<rsqrt> : (tensor<?x5xf32>, tensor<?x16xf32>) -> tensor<4x16xf32>
  return %m : tensor<4x16xf32>
}

// -----

func.func @source_memory_values(%k: tensor<?x4xf32>, %v: tensor<?x17xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{values width 17 must equal the memory width d = 16}}
  %m = mnemo.memsizer_source_memory %k, %v scale<rsqrt> : (tensor<?x4xf32>, tensor<?x17xf32>) -> tensor<4x16xf32>
  return %m : tensor<4x16xf32>
}

// -----

func.func @source_memory_rows(%k: tensor<6x4xf32>, %v: tensor<6x16xf32>, %m: tensor<5xi1>) -> tensor<4x16xf32> {
  // expected-error @+1 {{keys, values and mask must have the same number of rows, got 6, 6 and 5}}
  %r = mnemo.memsizer_source_memory %k, %v mask %m scale<rsqrt> : (tensor<6x4xf32>, tensor<6x16xf32>, tensor<5xi1>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

func.func @cross_memory_dynamic(%a: tensor<?x4xf32>, %m: tensor<4x?xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{memory must have a static shape [k, d] or [M, k, d], got [4, ?]}}
  %y = mnemo.memsizer_cross %a, %m : tensor<?x4xf32>, tensor<4x?xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @cross_memories(%a: tensor<3x4xf32>, %m: tensor<2x4x16xf32>) -> tensor<3x16xf32> {
  // expected-error @+1 {{memory holds 2 memories for 3 rows of alpha: give one, or one per row}}
  %y = mnemo.memsizer_cross %a, %m : tensor<3x4xf32>, tensor<2x4x16xf32> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// -----

func.func @cross_alpha(%a: tensor<?x8xf32>, %m: tensor<4x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{alpha width 8 must equal the number of memory slots k = 4}}
  %y = mnemo.memsizer_cross %a, %m : tensor<?x8xf32>, tensor<4x16xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @cross_output(%a: tensor<?x4xf32>, %m: tensor<4x16xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{output must have shape [?, 16], got [?, 8]}}
  %y = mnemo.memsizer_cross %a, %m : tensor<?x4xf32>, tensor<4x16xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

// -----

func.func @norm_dynamic_width(%x: tensor<4x?xf32>, %g: tensor<16xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{input width must be static, got [4, ?]}}
  %y = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<4x?xf32>, tensor<16xf32> -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

func.func @norm_weight(%x: tensor<4x16xf32>, %g: tensor<8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight width 8 must equal the input width 16}}
  %y = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<4x16xf32>, tensor<8xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @norm_bias(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<15xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{bias width 15 must equal the input width 16}}
  %y = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<4x16xf32>, tensor<16xf32>, tensor<15xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @norm_output(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{output must have shape [4, 16], got [?, 16]}}
  %y = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @norm_epsilon(%x: tensor<4x16xf32>, %g: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{epsilon must be a positive finite number, got 0}}
  %y = mnemo.rms_norm %x, %g eps 0.0 : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.rotary
//===----------------------------------------------------------------------===//

// -----

func.func @rotary_heads(%x: tensor<4x64xf32>, %p: tensor<4xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{num_heads must be positive, got -2}}
  %y = mnemo.rotary %x, %p heads -2 dims 8 base 10000.0 : tensor<4x64xf32>, tensor<4xi64> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @rotary_width(%x: tensor<4x60xf32>, %p: tensor<4xi64>) -> tensor<4x60xf32> {
  // expected-error @+1 {{input width 60 must be a multiple of num_heads = 8}}
  %y = mnemo.rotary %x, %p heads 8 dims 4 base 10000.0 : tensor<4x60xf32>, tensor<4xi64> -> tensor<4x60xf32>
  return %y : tensor<4x60xf32>
}

// -----

func.func @rotary_odd_dims(%x: tensor<4x64xf32>, %p: tensor<4xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{rotary_dims must be even and in [2, head_dim = 16], got 7}}
  %y = mnemo.rotary %x, %p heads 4 dims 7 base 10000.0 : tensor<4x64xf32>, tensor<4xi64> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @rotary_dims_too_large(%x: tensor<4x64xf32>, %p: tensor<4xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{rotary_dims must be even and in [2, head_dim = 16], got 18}}
  %y = mnemo.rotary %x, %p heads 4 dims 18 base 10000.0 : tensor<4x64xf32>, tensor<4xi64> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @rotary_positions(%x: tensor<4x64xf32>, %p: tensor<3xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{positions length 3 must equal the number of rows 4}}
  %y = mnemo.rotary %x, %p heads 4 dims 8 base 10000.0 : tensor<4x64xf32>, tensor<3xi64> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @rotary_base(%x: tensor<4x64xf32>, %p: tensor<4xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{base must be a positive finite number, got -10}}
  %y = mnemo.rotary %x, %p heads 4 dims 8 base -10.0 : tensor<4x64xf32>, tensor<4xi64> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @rotary_output(%x: tensor<4x64xf32>, %p: tensor<4xi64>) -> tensor<4x32xf32> {
  // expected-error @+1 {{output must have shape [4, 64], got [4, 32]}}
  %y = mnemo.rotary %x, %p heads 4 dims 8 base 10000.0 : tensor<4x64xf32>, tensor<4xi64> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.causal_attention
//===----------------------------------------------------------------------===//

// -----

func.func @attention_heads(%q: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{num_heads must be positive, got 0}}
  %o = mnemo.causal_attention %q, %q, %q heads 0 scale 0.25 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32>
  return %o : tensor<4x64xf32>
}

// -----

func.func @attention_query_dynamic(%q: tensor<4x?xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{query width must be static, got [4, ?]}}
  %o = mnemo.causal_attention %q, %q, %q heads 4 scale 0.25 : tensor<4x?xf32>, tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4x?xf32>
  return %o : tensor<4x?xf32>
}

// -----

func.func @attention_query_width(%q: tensor<4x66xf32>) -> tensor<4x66xf32> {
  // expected-error @+1 {{query width 66 must be a multiple of num_heads = 4}}
  %o = mnemo.causal_attention %q, %q, %q heads 4 scale 0.25 : tensor<4x66xf32>, tensor<4x66xf32>, tensor<4x66xf32> -> tensor<4x66xf32>
  return %o : tensor<4x66xf32>
}

// -----

func.func @attention_widths(%q: tensor<4x64xf32>, %k: tensor<4x64xf32>, %v: tensor<4x32xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{query, key and value must have the same width, got 64, 64 and 32}}
  %o = mnemo.causal_attention %q, %k, %v heads 4 scale 0.25 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x32xf32> -> tensor<4x64xf32>
  return %o : tensor<4x64xf32>
}

// -----

func.func @attention_kv_rows(%q: tensor<1x64xf32>, %k: tensor<5x64xf32>, %v: tensor<6x64xf32>) -> tensor<1x64xf32> {
  // expected-error @+1 {{key and value must have the same number of rows, got 5 and 6}}
  %o = mnemo.causal_attention %q, %k, %v heads 4 scale 0.25 : tensor<1x64xf32>, tensor<5x64xf32>, tensor<6x64xf32> -> tensor<1x64xf32>
  return %o : tensor<1x64xf32>
}

// -----

func.func @attention_fewer_keys(%q: tensor<4x64xf32>, %k: tensor<3x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{the 4 queries must be the last rows of the key sequence, which has only 3 rows}}
  %o = mnemo.causal_attention %q, %k, %k heads 4 scale 0.25 : tensor<4x64xf32>, tensor<3x64xf32>, tensor<3x64xf32> -> tensor<4x64xf32>
  return %o : tensor<4x64xf32>
}

// -----

func.func @attention_scale(%q: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{scale must be a positive finite number, got 0}}
  %o = mnemo.causal_attention %q, %q, %q heads 4 scale 0.0 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32>
  return %o : tensor<4x64xf32>
}

// -----

func.func @attention_output(%q: tensor<4x64xf32>) -> tensor<5x64xf32> {
  // expected-error @+1 {{output must have shape [4, 64], got [5, 64]}}
  %o = mnemo.causal_attention %q, %q, %q heads 4 scale 0.25 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32> -> tensor<5x64xf32>
  return %o : tensor<5x64xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.embedding
//===----------------------------------------------------------------------===//

// -----

func.func @embedding_dynamic(%t: tensor<100x?xf32>, %ids: tensor<?xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{table width must be static, got [100, ?]}}
  %x = mnemo.embedding %t[%ids] : tensor<100x?xf32>, tensor<?xi64> -> tensor<?x?xf32>
  return %x : tensor<?x?xf32>
}

// -----

func.func @embedding_output(%t: tensor<100x16xf16>, %ids: tensor<3xi64>) -> tensor<4x16xf32> {
  // expected-error @+1 {{output must have shape [3, 16], got [4, 16]}}
  %x = mnemo.embedding %t[%ids] : tensor<100x16xf16>, tensor<3xi64> -> tensor<4x16xf32>
  return %x : tensor<4x16xf32>
}

//===----------------------------------------------------------------------===//
// mnemo.hash_lookup: packed tables, folded norms, tiling
//===----------------------------------------------------------------------===//

// -----

func.func @packed_dynamic(%x: tensor<4x16xf32>, %t: tensor<?x2x256x8xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{tables must have a static shape [h / C, K, 2^tau, C], got [?, 2, 256, 8]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<?x2x256x8xf32>) -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

func.func @packed_empty(%x: tensor<4x16xf32>, %t: tensor<0x2x256x8xf32>) -> tensor<4x0xf32> {
  // expected-error @+1 {{tables must hold at least one table and one output column, got [h / C, K, 2^tau, C] = [0, 2, 256, 8]}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x16xf32>, tensor<0x2x256x8xf32>) -> tensor<4x0xf32>
  return %y : tensor<4x0xf32>
}

// -----

func.func @norm_incomplete(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{a normalized input needs a norm kind, a norm weight and an epsilon together}}
  %y = "mnemo.hash_lookup"(%x, %g, %t) <{operandSegmentSizes = array<i32: 1, 1, 0, 1, 0>, weighting = #mnemo.weighting<prob>}> : (tensor<4x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @layer_norm_without_bias(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{layer_norm needs a bias}}
  %y = mnemo.hash_lookup %x normalized by layer_norm(%g) eps 1.0e-5, %t weighting<prob> : (tensor<4x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @rms_norm_with_bias(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{rms_norm takes no bias}}
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g, %g) eps 1.0e-5, %t weighting<prob> : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @norm_weight_width(%x: tensor<4x16xf32>, %g: tensor<15xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{norm weight width 15 must equal the input width 16}}
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps 1.0e-5, %t weighting<prob> : (tensor<4x16xf32>, tensor<15xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @norm_bias_width(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<17xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{norm bias width 17 must equal the input width 16}}
  %y = mnemo.hash_lookup %x normalized by layer_norm(%g, %b) eps 1.0e-5, %t weighting<prob> : (tensor<4x16xf32>, tensor<16xf32>, tensor<17xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @norm_epsilon(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{norm epsilon must be a positive finite number, got -9.99999974E-6}}
  %y = mnemo.hash_lookup %x normalized by rms_norm(%g) eps -1.0e-5, %t weighting<prob> : (tensor<4x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @norm_bias_alone(%x: tensor<4x16xf32>, %b: tensor<16xf32>, %t: tensor<2x256x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{a norm bias needs a normalized input}}
  %y = "mnemo.hash_lookup"(%x, %b, %t) <{operandSegmentSizes = array<i32: 1, 0, 1, 1, 0>, weighting = #mnemo.weighting<prob>}> : (tensor<4x16xf32>, tensor<16xf32>, tensor<2x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @tiling_columns_divide(%x: tensor<4x16xf32>, %t: tensor<2x256x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{tiling columns 24 must divide the output width h = 64}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> {tiling = #mnemo.lookup_tiling<tokens = 8, columns = 24, tables = 2, prefetch = 0, parallel = tokens>} : (tensor<4x16xf32>, tensor<2x256x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

func.func @tiling_columns_packed(%x: tensor<4x16xf32>, %t: tensor<4x2x256x16xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{tiling columns 32 must equal the packed column tile 16}}
  %y = mnemo.hash_lookup %x, %t weighting<prob> {tiling = #mnemo.lookup_tiling<tokens = 8, columns = 32, tables = 2, prefetch = 0, parallel = tokens>} : (tensor<4x16xf32>, tensor<4x2x256x16xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

//===----------------------------------------------------------------------===//
// #mnemo.lookup_tiling
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{tokens per tile must be non-negative (0: all), got -1}}
func.func private @tiling_tokens() attributes {t = #mnemo.lookup_tiling<tokens = -1, columns = 8, tables = 1, prefetch = 0, parallel = tokens>}

// -----

// expected-error @+1 {{columns per tile must be positive, got 0}}
func.func private @tiling_columns() attributes {t = #mnemo.lookup_tiling<tokens = 8, columns = 0, tables = 1, prefetch = 0, parallel = tokens>}

// -----

// expected-error @+1 {{tables per pass must be positive, got 0}}
func.func private @tiling_tables() attributes {t = #mnemo.lookup_tiling<tokens = 8, columns = 8, tables = 0, prefetch = 0, parallel = tokens>}

// -----

// expected-error @+1 {{prefetch distance must be non-negative, got -2}}
func.func private @tiling_prefetch() attributes {t = #mnemo.lookup_tiling<tokens = 8, columns = 8, tables = 1, prefetch = -2, parallel = columns>}

// -----

func.func @linear_width(%x: tensor<?x16xf32>, %w: tensor<64x32xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{input width 16 must equal the weight's 32 columns (weights are [out, in])}}
  %y = mnemo.linear %x, %w : (tensor<?x16xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @linear_bias(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>, %b: tensor<60xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{bias width 60 must equal the weight's 64 rows}}
  %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<60xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @linear_output(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{output must have shape [?, 64], got [?, 32]}}
  %y = mnemo.linear %x, %w : (tensor<?x16xf32>, tensor<64x16xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

func.func @linear_dynamic(%x: tensor<?x16xf32>, %w: tensor<?x16xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{weight rows must be static, got [?, 16]}}
  %y = mnemo.linear %x, %w : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
