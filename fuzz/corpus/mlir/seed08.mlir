func.func @rotary(%q: tensor<?x64xf32>, %pos: tensor<?xi64>) -> tensor<?x64xf32> {
  %0 = mnemo.rotary %q, %pos heads 4 dims 8 base 10000.0 : tensor<?x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
