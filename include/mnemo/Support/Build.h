//===- Build.h - What identifies this build of Mnemo ------------*- C++ -*-===//
//
// The kernel cache must not hand kernels compiled by one build of Mnemo to
// another: a rebuilt code generator keeps the release number, and the
// modules and options it is given, but not necessarily the code it makes.
//
//===----------------------------------------------------------------------===//

#ifndef MNEMO_SUPPORT_BUILD_H
#define MNEMO_SUPPORT_BUILD_H

#include <string>

namespace mnemo {

/// The GNU build ID (in hex) of the executable or shared library that holds
/// Mnemo's code in this process, which the linker computes from its
/// contents; where it wrote none, the file's path, size and modification
/// time; "unknown" if even that cannot be had.
std::string buildIdentity();

} // namespace mnemo

#endif // MNEMO_SUPPORT_BUILD_H
