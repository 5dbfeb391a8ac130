// RUN: mnemo-opt %s -split-input-file -mnemo-lower-norms | FileCheck %s

// RMSNorm: a row reduction of squares, then x / sqrt(sum / d + eps) * g.
// CHECK-DAG: #[[$ROWCOL:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$COL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.+]]: tensor<?x16xf32>, %[[G:.+]]: tensor<16xf32>)
// CHECK-DAG: %[[EPS:.+]] = arith.constant 9.99999993E-9 : f32
// CHECK-DAG: %[[D:.+]] = arith.constant 1.600000e+01 : f32
// CHECK: %[[ZEROS:.+]] = linalg.fill
// CHECK: %[[SUMSQ:.+]] = linalg.generic {indexing_maps = [#[[$ROWCOL]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<?x16xf32>) outs(%[[ZEROS]] : tensor<?xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[$ROWCOL]], #[[$ROW]], #[[$COL]], #[[$ROWCOL]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[SUMSQ]], %[[G]] : {{.+}})
// CHECK: ^bb0(%[[IN:.+]]: f32, %[[SQ:.+]]: f32, %[[W:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[MEAN:.+]] = arith.divf %[[SQ]], %[[D]]
// CHECK: %[[VAR:.+]] = arith.addf %[[MEAN]], %[[EPS]]
// CHECK: %[[ROOT:.+]] = math.sqrt %[[VAR]]
// CHECK: %[[NORM:.+]] = arith.divf %[[IN]], %[[ROOT]]
// CHECK: %[[Y:.+]] = arith.mulf %[[NORM]], %[[W]]
// CHECK: linalg.yield %[[Y]]
// CHECK-NOT: mnemo.rms_norm
func.func @rms_norm(%x: tensor<?x16xf32>, %g: tensor<16xf32>) -> tensor<?x16xf32> {
  %u = mnemo.rms_norm %x, %g eps 1.0e-8 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  return %u : tensor<?x16xf32>
}

// -----

// LayerNorm: the mean, the sum of squared deviations from it, then
// (x - mean) / sqrt(var + eps) * g + b.
// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME: (%[[X:.+]]: tensor<4x16xf32>, %[[G:.+]]: tensor<16xf32>, %[[B:.+]]: tensor<16xf32>)
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<4x16xf32>)
// CHECK: %[[MEAN:.+]] = linalg.generic {{.+}} ins(%[[SUM]] : tensor<4xf32>)
// CHECK: %[[SQ:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[MEAN]] : tensor<4x16xf32>, tensor<4xf32>)
// CHECK: arith.subf
// CHECK: linalg.generic {{.+}} ins(%[[X]], %[[SQ]], %[[G]], %[[MEAN]], %[[B]] : {{.+}})
// CHECK: arith.subf
// CHECK: math.sqrt
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: mnemo.layer_norm
func.func @layer_norm(%x: tensor<4x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %u = mnemo.layer_norm %x, %g, %b eps 1.0e-5 : tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %u : tensor<4x16xf32>
}
