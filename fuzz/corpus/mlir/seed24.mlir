func.func @operand_defined_later(%x: tensor<200x16xf32>, %t0: tensor<2x256x8xf32>, %t1: tensor<2x256x8xf32>)
    -> (tensor<200x8xf32>, tensor<200x8xf32>, tensor<200x8xf32>) {
  %a = mnemo.hash_lookup %x, %t0 weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  %late = tensor.empty() : tensor<2x256x8xf32>
  %b = mnemo.hash_lookup %x, %late weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  %c = mnemo.hash_lookup %x, %t1 weighting<prob> : (tensor<200x16xf32>, tensor<2x256x8xf32>) -> tensor<200x8xf32>
  return %a, %b, %c : tensor<200x8xf32>, tensor<200x8xf32>, tensor<200x8xf32>
}
