// The attention input of one MemoryFormer layer (SPEC §2), tiny preset
// (d = 512, K = 64 tables of tau = 8 bits): RMSNorm, then three Memory
// Layers for Q, K and V on the same normalized input. `mnemo-optimize`
// fuses the three lookups into one over tables concatenated along h.
func.func @qkv(%x: tensor<?x512xf32>, %g: tensor<512xf32>,
               %tq: tensor<64x256x512xf16>, %bq: tensor<512xf32>,
               %tk: tensor<64x256x512xf16>, %bk: tensor<512xf32>,
               %tv: tensor<64x256x512xf16>, %bv: tensor<512xf32>)
    -> (tensor<?x512xf32>, tensor<?x512xf32>, tensor<?x512xf32>) {
  %u = mnemo.rms_norm %x, %g eps 9.99999993E-9
      : tensor<?x512xf32>, tensor<512xf32> -> tensor<?x512xf32>
  %q = mnemo.hash_lookup %u, %tq bias %bq weighting<l1_prob>
      : (tensor<?x512xf32>, tensor<64x256x512xf16>, tensor<512xf32>) -> tensor<?x512xf32>
  %k = mnemo.hash_lookup %u, %tk bias %bk weighting<l1_prob>
      : (tensor<?x512xf32>, tensor<64x256x512xf16>, tensor<512xf32>) -> tensor<?x512xf32>
  %v = mnemo.hash_lookup %u, %tv bias %bv weighting<l1_prob>
      : (tensor<?x512xf32>, tensor<64x256x512xf16>, tensor<512xf32>) -> tensor<?x512xf32>
  return %q, %k, %v : tensor<?x512xf32>, tensor<?x512xf32>, tensor<?x512xf32>
}
