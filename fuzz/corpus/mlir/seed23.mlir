func.func @not_siblings(%x: tensor<?x16xf32>, %x2: tensor<?x16xf32>,
                        %t: tensor<2x256x8xf32>, %t4: tensor<4x16x8xf32>,
                        %th: tensor<2x256x8xf16>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %1 = mnemo.hash_lookup %x, %t weighting<l1_prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %2 = mnemo.hash_lookup %x, %t weighting<prob> temperature 2.0 : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %3 = mnemo.hash_lookup %x, %t4 weighting<prob> temperature 3.0 : (tensor<?x16xf32>, tensor<4x16x8xf32>) -> tensor<?x8xf32>
  %4 = mnemo.hash_lookup %x, %th weighting<prob> temperature 4.0 : (tensor<?x16xf32>, tensor<2x256x8xf16>) -> tensor<?x8xf32>
  %5 = mnemo.hash_lookup %x2, %t weighting<prob> temperature 5.0 : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
