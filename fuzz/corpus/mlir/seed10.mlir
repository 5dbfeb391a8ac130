func.func @embedding(%table: tensor<100x16xbf16>, %ids: tensor<?xi64>) -> tensor<?x16xf32> {
  %0 = mnemo.embedding %table[%ids] : tensor<100x16xbf16>, tensor<?xi64> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}
