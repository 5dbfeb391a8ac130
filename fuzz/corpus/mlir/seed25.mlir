func.func @different_blocks(%x: tensor<?x16xf32>, %t: tensor<2x256x8xf32>, %c: i1) -> tensor<?x8xf32> {
  %a = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
  %r = scf.if %c -> tensor<?x8xf32> {
    %b = mnemo.hash_lookup %x, %t weighting<prob> : (tensor<?x16xf32>, tensor<2x256x8xf32>) -> tensor<?x8xf32>
    scf.yield %b : tensor<?x8xf32>
  } else {
    scf.yield %a : tensor<?x8xf32>
  }
  return %r : tensor<?x8xf32>
}
