func.func @prefill_copy(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x8xf32>,
                        %state: tensor<4x8xf32>, %start: index) -> (tensor<?x8xf32>, tensor<4x8xf32>) {
  %y, %s = mnemo.memsizer_prefill %alpha, %keys, %values state %state at %start scale<none>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x8xf32>, tensor<4x8xf32>
  return %y, %s : tensor<?x8xf32>, tensor<4x8xf32>
}
