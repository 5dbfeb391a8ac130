func.func @step(%alpha: tensor<1x4xf32>, %key: tensor<1x4xf32>, %value: tensor<1x40xf32>,
                %state: memref<1x4x40xf32>, %count: tensor<1xi64>) -> tensor<1x40xf32> {
  %s0 = bufferization.to_tensor %state restrict : memref<1x4x40xf32>
  %y, %s1 = mnemo.memsizer_step %alpha, %key, %value state %s0 at %count scale<rsqrt>
      : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x40xf32>, tensor<1x4x40xf32>, tensor<1xi64>
      -> tensor<1x40xf32>, tensor<1x4x40xf32>
  bufferization.materialize_in_destination %s1 in restrict writable %state : (tensor<1x4x40xf32>, memref<1x4x40xf32>) -> ()
  return %y : tensor<1x40xf32>
}
