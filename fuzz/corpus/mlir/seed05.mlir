func.func @memsizer_step(%alpha: tensor<3x4xf32>, %key: tensor<3x4xf32>,
                         %value: tensor<3x16xf32>, %state: tensor<3x4x16xf32>,
                         %count: tensor<3xi64>) -> (tensor<3x16xf32>, tensor<3x4x16xf32>) {
  %y, %s = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x16xf32>, tensor<3x4x16xf32>, tensor<3xi64>
      -> tensor<3x16xf32>, tensor<3x4x16xf32>
  return %y, %s : tensor<3x16xf32>, tensor<3x4x16xf32>
}
