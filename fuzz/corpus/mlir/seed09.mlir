func.func @causal_attention(%q: tensor<1x64xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>) -> tensor<1x64xf32> {
  %0 = mnemo.causal_attention %q, %k, %v heads 4 scale 0.25
      : tensor<1x64xf32>, tensor<?x64xf32>, tensor<?x64xf32> -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}
