func.func @alpha(%logits: tensor<?x36xf32>) -> tensor<?x12xf32> {
  %a = mnemo.memsizer_alpha %logits heads 3 : tensor<?x36xf32> -> tensor<?x12xf32>
  return %a : tensor<?x12xf32>
}
