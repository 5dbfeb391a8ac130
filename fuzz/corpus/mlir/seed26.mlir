func.func @norm_keeps_only_lookup_users(%x: tensor<?x16xf32>, %g: tensor<16xf32>,
                                        %ta: tensor<2x256x8xf32>, %tb: tensor<2x256x8xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %a = mnemo.hash_lookup %u, %ta weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %b = mnemo.hash_lookup %u, %tb weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}
