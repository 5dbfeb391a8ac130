//===- Types.cpp - Vocabulary shared by Mnemo's libraries ------------------===//

#include "mnemo/Support/Types.h"

namespace mnemo {

int64_t elementBytes(ElementType type) {
  switch (type) {
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::I64:
    return 8;
  case ElementType::I1:
    return 1;
  }
  return 0;
}

const char *elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::I64:
    return "i64";
  case ElementType::I32:
    return "i32";
  case ElementType::I1:
    return "i1";
  }
  return "?";
}

const char *weightingName(Weighting weighting) {
  return weighting == Weighting::Prob ? "prob" : "l1_prob";
}

} // namespace mnemo
