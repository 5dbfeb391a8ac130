func.func @memsizer_alpha(%logits: tensor<?x256xf32>) -> tensor<?x32xf32> {
  %alpha = mnemo.memsizer_alpha %logits heads 8 : tensor<?x256xf32> -> tensor<?x32xf32>
  return %alpha : tensor<?x32xf32>
}
