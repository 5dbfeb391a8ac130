func.func @hash_lookup_default_temperature(%x: tensor<4x16xf32>, %t: tensor<2x256x8xbf16>) -> tensor<4x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> temperature 1.0
      : (tensor<4x16xf32>, tensor<2x256x8xbf16>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
