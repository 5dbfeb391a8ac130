//===- Host.cpp - What the JIT compiles for ---------------------*- C++ -*-===//

#include "mnemo/JIT/Host.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>
#include <fstream>
#include <thread>

namespace mnemo {
namespace {

/// Reads a sysfs cache size such as "32K" or "1024K"; 0 when unreadable.
int64_t readCacheSize(const std::string &path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty())
    return 0;
  int64_t multiplier = 1;
  char suffix = text.back();
  if (suffix == 'K' || suffix == 'M') {
    multiplier = suffix == 'K' ? 1024 : 1024 * 1024;
    text.pop_back();
  }
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value <= 0)
    return 0;
  return static_cast<int64_t>(value) * multiplier;
}

std::string readWord(const std::string &path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}

HostInfo detect() {
  HostInfo info;
  info.cpuName = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    info.vectorWidth = 16;
  else if (features.lookup("avx"))
    info.vectorWidth = 8;
  else
    info.vectorWidth = 4;
  for (int index = 0; index < 8; ++index) {
    std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::string level = readWord(dir + "/level");
    std::string type = readWord(dir + "/type");
    int64_t size = readCacheSize(dir + "/size");
    if (level.empty() || size == 0 || type == "Instruction")
      continue;
    if (level == "1")
      info.l1CacheBytes = size;
    else if (level == "2")
      info.l2CacheBytes = size;
    else if (level == "3")
      info.l3CacheBytes = size;
  }
  info.cores = std::max(1u, std::thread::hardware_concurrency());
  return info;
}

} // namespace

const HostInfo &getHostInfo() {
  static const HostInfo info = detect();
  return info;
}

int64_t getAvailableMemoryBytes() {
  // "MemAvailable:   23456789 kB": what can be allocated without swapping.
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  long long value = 0;
  while (in >> key >> value >> unit)
    if (key == "MemAvailable:")
      return static_cast<int64_t>(value) * 1024;
  return 0;
}

} // namespace mnemo
