func.func @cross(%alpha: tensor<?x4xf32>, %memory: tensor<4x64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.memsizer_cross %alpha, %memory : tensor<?x4xf32>, tensor<4x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
