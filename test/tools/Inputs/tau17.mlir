func.func @f(%x: tensor<1x17xf32>, %t: tensor<1x131072x4xf32>) -> tensor<1x4xf32> {
  %y = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<1x17xf32>, tensor<1x131072x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
