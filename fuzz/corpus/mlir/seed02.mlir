func.func @hash_lookup_tau_extremes(%x1: tensor<1x3xf32>, %t1: tensor<3x2x5xf32>,
                                    %x16: tensor<1x16xf32>, %t16: tensor<1x65536x2xf32>)
    -> (tensor<1x5xf32>, tensor<1x2xf32>) {
  %a = mnemo.hash_lookup %x1, %t1 weighting<l1_prob>
      : (tensor<1x3xf32>, tensor<3x2x5xf32>) -> tensor<1x5xf32>
  %b = mnemo.hash_lookup %x16, %t16 weighting<l1_prob>
      : (tensor<1x16xf32>, tensor<1x65536x2xf32>) -> tensor<1x2xf32>
  return %a, %b : tensor<1x5xf32>, tensor<1x2xf32>
}
