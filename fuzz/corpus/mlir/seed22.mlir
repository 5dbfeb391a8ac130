func.func @mixed_bias(%x: tensor<9x16xf32>, %ta: tensor<4x16x8xf32>,
                      %tb: tensor<4x16x24xf32>, %bb: tensor<24xf32>)
    -> (tensor<9x8xf32>, tensor<9x24xf32>) {
  %a = mnemo.hash_lookup %x, %ta weighting<prob> temperature 0.25
      : (tensor<9x16xf32>, tensor<4x16x8xf32>) -> tensor<9x8xf32>
  %b = mnemo.hash_lookup %x, %tb bias %bb weighting<prob> temperature 0.25
      : (tensor<9x16xf32>, tensor<4x16x24xf32>, tensor<24xf32>) -> tensor<9x24xf32>
  return %a, %b : tensor<9x8xf32>, tensor<9x24xf32>
}
