func.func @qkv(%x: tensor<?x16xf32>,
               %tq: tensor<2x256x32xf16>, %bq: tensor<32xf32>,
               %tk: tensor<2x256x32xf16>, %bk: tensor<32xf32>,
               %tv: tensor<2x256x32xf16>, %bv: tensor<32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %q = mnemo.hash_lookup %x, %tq bias %bq weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %k = mnemo.hash_lookup %x, %tk bias %bk weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  %v = mnemo.hash_lookup %x, %tv bias %bv weighting<l1_prob>
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %q, %k, %v : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}
