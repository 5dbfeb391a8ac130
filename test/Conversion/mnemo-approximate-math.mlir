// RUN: mnemo-opt %s -mnemo-approximate-math | FileCheck %s

// math.exp on vectors becomes a polynomial in vector registers (no libm
// call): the argument is clamped to [-87.8, 88.8] (so exp(-2|z|/t) of a
// large |z| is 0, never NaN), reduced by n = floor(x log2 e + 1/2), a
// polynomial, then scaled by 2^n through the exponent bits.
// CHECK-LABEL: func.func @exp
// CHECK-NOT: math.exp
// CHECK: arith.constant dense<-8.780000e+01> : vector<16xf32>
// CHECK: math.floor
// CHECK: math.fma
// CHECK: arith.bitcast {{.+}} : vector<16xi32> to vector<16xf32>
func.func @exp(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.exp %x : vector<16xf32>
  return %y : vector<16xf32>
}
