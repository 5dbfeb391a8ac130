func.func @source_memory(%keys: tensor<?x4xf32>, %values: tensor<?x8xf32>, %mask: tensor<?xi1>) -> tensor<4x8xf32> {
  %m = mnemo.memsizer_source_memory %keys, %values mask %mask scale<rsqrt>
      : (tensor<?x4xf32>, tensor<?x8xf32>, tensor<?xi1>) -> tensor<4x8xf32>
  return %m : tensor<4x8xf32>
}
