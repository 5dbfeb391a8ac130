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
