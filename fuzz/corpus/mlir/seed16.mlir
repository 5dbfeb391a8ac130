func.func @step_batch(%alpha: tensor<?x4xf32>, %key: tensor<?x4xf32>, %value: tensor<?x16xf32>,
                      %state: tensor<?x4x16xf32>, %count: tensor<?xi64>) -> (tensor<?x16xf32>, tensor<?x4x16xf32>) {
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %state at %count scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x16xf32>, tensor<?x4x16xf32>, tensor<?xi64>
      -> tensor<?x16xf32>, tensor<?x4x16xf32>
  return %y, %s1 : tensor<?x16xf32>, tensor<?x4x16xf32>
}
