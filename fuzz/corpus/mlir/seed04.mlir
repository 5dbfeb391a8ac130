func.func @memsizer_prefill(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>,
                            %values: tensor<?x16xf32>, %state: tensor<4x16xf32>,
                            %start: index) -> (tensor<?x16xf32>, tensor<4x16xf32>) {
  %y, %s = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32>
      -> tensor<?x16xf32>, tensor<4x16xf32>
  %y2, %s2 = mnemo.memsizer_prefill %alpha, %keys, %values state %s at %start scale<none>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<4x16xf32>
      -> tensor<?x16xf32>, tensor<4x16xf32>
  return %y2, %s2 : tensor<?x16xf32>, tensor<4x16xf32>
}
