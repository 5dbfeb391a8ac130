//===- Environment.h - Switches read from the environment -------*- C++ -*-===//
//
// Debugging and profiling switches (MNEMO_PERF, MNEMO_VERIFY_EACH) are on
// when their variable is exactly "1".
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_ENVIRONMENT_H
#define MNEMO_SUPPORT_ENVIRONMENT_H

#include <cstdlib>
#include <string_view>

namespace mnemo {

/// Whether the environment variable `name` is set to "1".
inline bool isEnvironmentSwitchOn(const char *name) {
  const char *value = std::getenv(name);
  return value && std::string_view(value) == "1";
}

} // namespace mnemo

#endif // MNEMO_SUPPORT_ENVIRONMENT_H
