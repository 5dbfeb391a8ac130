func.func @few_tokens(%x: tensor<1x16xf32>, %t0: tensor<2x256x8xf32>, %t1: tensor<2x256x8xf32>)
    -> (tensor<1x8xf32>, tensor<1x8xf32>) {
  %a = mnemo.hash_lookup %x, %t0 weighting<prob> : (tensor<1x16xf32>, tensor<2x256x8xf32>) -> tensor<1x8xf32>
  %b = mnemo.hash_lookup %x, %t1 weighting<prob> : (tensor<1x16xf32>, tensor<2x256x8xf32>) -> tensor<1x8xf32>
  return %a, %b : tensor<1x8xf32>, tensor<1x8xf32>
}
