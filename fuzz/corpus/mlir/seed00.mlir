func.func @hash_lookup_prob(%x: tensor<?x16xf32>, %t: tensor<2x256x32xf16>,
                            %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %y = mnemo.hash_lookup %x, %t bias %b weighting<prob> temperature 0.5
      : (tensor<?x16xf32>, tensor<2x256x32xf16>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
