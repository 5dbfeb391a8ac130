func.func @memsizer_cross(%keys: tensor<?x4xf32>, %values: tensor<?x16xf32>,
                          %keep: tensor<?xi1>, %alpha: tensor<?x4xf32>,
                          %memories: tensor<?x4x16xf32>)
    -> (tensor<?x16xf32>, tensor<4x16xf32>, tensor<?x16xf32>) {
  %m = mnemo.memsizer_source_memory %keys, %values mask %keep scale<rsqrt>
      : (tensor<?x4xf32>, tensor<?x16xf32>, tensor<?xi1>) -> tensor<4x16xf32>
  %m2 = mnemo.memsizer_source_memory %keys, %values scale<none>
      : (tensor<?x4xf32>, tensor<?x16xf32>) -> tensor<4x16xf32>
  %y = mnemo.memsizer_cross %alpha, %m : tensor<?x4xf32>, tensor<4x16xf32> -> tensor<?x16xf32>
  %z = mnemo.memsizer_cross %alpha, %memories : tensor<?x4xf32>, tensor<?x4x16xf32> -> tensor<?x16xf32>
  return %y, %m2, %z : tensor<?x16xf32>, tensor<4x16xf32>, tensor<?x16xf32>
}
