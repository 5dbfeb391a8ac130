func.func @f(%x: tensor<4x9223372036854775807xf32>, %t: tensor<9223372036854775807x256x8xf32>) -> tensor<4x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x9223372036854775807xf32>, tensor<9223372036854775807x256x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
