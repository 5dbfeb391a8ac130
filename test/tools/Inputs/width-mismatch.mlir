func.func @f(%x: tensor<4x100xf32>, %t: tensor<8x4096x8xf32>) -> tensor<4x8xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<4x100xf32>, tensor<8x4096x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
