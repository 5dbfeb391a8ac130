func.func @prefill_in_place(%alpha: tensor<?x4xf32>, %keys: tensor<?x4xf32>, %values: tensor<?x64xf32>,
                            %state: memref<4x64xf32>, %start: index) -> tensor<?x64xf32> {
  %s0 = bufferization.to_tensor %state restrict : memref<4x64xf32>
  %y, %s1 = mnemo.memsizer_prefill %alpha, %keys, %values state %s0 at %start scale<rsqrt>
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x64xf32>, tensor<4x64xf32> -> tensor<?x64xf32>, tensor<4x64xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state : (tensor<4x64xf32>, memref<4x64xf32>) -> ()
  return %y : tensor<?x64xf32>
}
