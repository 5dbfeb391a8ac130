func.func @cross_per_row(%alpha: tensor<?x4xf32>, %memory: tensor<?x4x64xf32>) -> tensor<?x64xf32> {
  %y = mnemo.memsizer_cross %alpha, %memory : tensor<?x4xf32>, tensor<?x4x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
