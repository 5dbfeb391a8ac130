func.func @linear(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>, %b: tensor<64xf32>,
                  %x1: tensor<1x64xf32>, %w2: tensor<16x64xf32>) -> (tensor<?x64xf32>, tensor<1x16xf32>) {
  %y = mnemo.linear %x, %w bias %b : (tensor<?x16xf32>, tensor<64x16xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %z = mnemo.linear %x1, %w2 : (tensor<1x64xf32>, tensor<16x64xf32>) -> tensor<1x16xf32>
  return %y, %z : tensor<?x64xf32>, tensor<1x16xf32>
}
