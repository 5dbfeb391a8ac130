//===- CUDA.cpp - The CUDA driver, loaded at run time -----------*- C++ -*-===//
//
// The driver API is declared here, not taken from cuda.h: the library is
// found at run time, and the build needs no CUDA toolkit. The declarations
// follow NVIDIA's ABI (the `_v2` entry points that cuda.h maps the plain
// names to).
//
//===----------------------------------------------------------------------===//

#include "mnemo/Runtime/CUDA.h"

#include "BlockCache.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace mnemo::cuda {

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *;

constexpr CUresult kSuccess = 0;
// Device attributes (CUdevice_attribute).
constexpr int kMultiprocessorCount = 16;
constexpr int kMemoryClockRate = 36;
constexpr int kMemoryBusWidth = 37;
constexpr int kL2CacheSize = 38;
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;
constexpr int kMemoryPoolsSupported = 115;
// Options of cuModuleLoadDataEx (CUjit_option).
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
constexpr int kJitOptimizationLevel = 7;
// CUmemPool_attribute.
constexpr int kPoolReleaseThreshold = 4;

/// The entry points Mnemo uses; optional ones may be null.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*driverGetVersion)(int *);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*deviceTotalMem)(size_t *, CUdevice);
  CUresult (*primaryCtxRetain)(Handle *, CUdevice);
  CUresult (*ctxSetCurrent)(Handle);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, Handle);
  CUresult (*memFreeAsync)(CUdeviceptr, Handle);
  CUresult (*deviceGetDefaultMemPool)(Handle *, CUdevice);
  CUresult (*memPoolSetAttribute)(Handle, int, void *);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, Handle);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, Handle);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, Handle);
  CUresult (*memsetD8Async)(CUdeviceptr, unsigned char, size_t, Handle);
  CUresult (*moduleLoadData)(Handle *, const void *);
  CUresult (*moduleLoadDataEx)(Handle *, const void *, unsigned, int *,
                               void **);
  CUresult (*moduleUnload)(Handle);
  CUresult (*moduleGetFunction)(Handle *, Handle, const char *);
  CUresult (*launchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, Handle, void **,
                           void **);
  CUresult (*streamCreate)(Handle *, unsigned);
  CUresult (*streamSynchronize)(Handle);
  CUresult (*streamWaitEvent)(Handle, Handle, unsigned);
  CUresult (*eventCreate)(Handle *, unsigned);
  CUresult (*eventDestroy)(Handle);
  CUresult (*eventRecord)(Handle, Handle);
  CUresult (*eventSynchronize)(Handle);
  CUresult (*eventElapsedTime)(float *, Handle, Handle);
};

/// The process's driver, device and context, set up once.
struct State {
  Driver driver{};
  std::string error; ///< why the driver is unusable; empty when it is
  CUdevice device = 0;
  Handle context = nullptr;
  bool memoryPools = false;
  DeviceInfo info;
  /// Kernel modules by the address of the image they were loaded from.
  std::mutex modulesMutex;
  std::map<const void *, Handle> modules;
};

State &state();

/// The names of results that matter when the driver cannot name them (the
/// stub library answers every call, cuGetErrorName included, with 34).
const char *knownErrorName(CUresult result) {
  switch (result) {
  case 1:
    return "CUDA_ERROR_INVALID_VALUE";
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 3:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case 34:
    return "CUDA_ERROR_STUB_LIBRARY";
  case 35:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 100:
    return "CUDA_ERROR_NO_DEVICE";
  case 101:
    return "CUDA_ERROR_INVALID_DEVICE";
  case 218:
    return "CUDA_ERROR_INVALID_PTX";
  case 222:
    return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
  default:
    return nullptr;
  }
}

/// "<call>: <NAME> (<description>)".
std::string describe(const char *call, CUresult result) {
  const Driver &d = state().driver;
  const char *name = nullptr, *text = nullptr;
  if (d.getErrorName && d.getErrorName(result, &name) != kSuccess)
    name = nullptr;
  if (d.getErrorString && d.getErrorString(result, &text) != kSuccess)
    text = nullptr;
  if (!name)
    name = knownErrorName(result);
  std::string message = std::string(call) + ": ";
  message += name ? name : "CUDA error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

llvm::Error makeError(const std::string &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

template <typename F>
bool resolve(void *library, const char *name, F &function) {
  function = reinterpret_cast<F>(dlsym(library, name));
  return function != nullptr;
}

/// $MNEMO_CUDA_STATS: the calls and host time of each timed driver entry
/// point, printed to stderr at exit (where a program's time on the GPU goes:
/// launches, synchronizations, allocations and copies).
struct CallStats {
  const char *name = nullptr;
  std::atomic<uint64_t> calls{0}, nanoseconds{0};
};
constexpr int kTimedEntries = 16;
CallStats callStats[kTimedEntries];

void printCallStats() {
  std::fprintf(stderr, "mnemo cuda stats: %-22s %10s %12s %10s\n", "call",
               "calls", "host ms", "us/call");
  for (const CallStats &entry : callStats) {
    uint64_t calls = entry.calls.load();
    if (!entry.name || calls == 0)
      continue;
    double ms = static_cast<double>(entry.nanoseconds.load()) * 1e-6;
    std::fprintf(stderr, "mnemo cuda stats: %-22s %10llu %12.3f %10.2f\n",
                 entry.name, static_cast<unsigned long long>(calls), ms,
                 ms * 1e3 / static_cast<double>(calls));
  }
}

/// Replaces a driver entry point with one that counts and times it.
template <int Id, typename... Args> struct Timed {
  static inline CUresult (*original)(Args...) = nullptr;
  static CUresult call(Args... args) {
    auto begin = std::chrono::steady_clock::now();
    CUresult result = original(args...);
    auto elapsed = std::chrono::steady_clock::now() - begin;
    callStats[Id].calls.fetch_add(1, std::memory_order_relaxed);
    callStats[Id].nanoseconds.fetch_add(
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed)
                .count()),
        std::memory_order_relaxed);
    return result;
  }
};

template <int Id, typename... Args>
void timeCalls(const char *name, CUresult (*&function)(Args...)) {
  static_assert(Id < kTimedEntries);
  if (!function)
    return;
  callStats[Id].name = name;
  Timed<Id, Args...>::original = function;
  function = &Timed<Id, Args...>::call;
}

/// Times the entry points that a call of generated code and the engine use.
void timeDriverCalls(Driver &d) {
  timeCalls<0>("cuLaunchKernel", d.launchKernel);
  timeCalls<1>("cuModuleGetFunction", d.moduleGetFunction);
  timeCalls<2>("cuStreamSynchronize", d.streamSynchronize);
  timeCalls<3>("cuEventSynchronize", d.eventSynchronize);
  timeCalls<4>("cuMemAlloc", d.memAlloc);
  timeCalls<5>("cuMemFree", d.memFree);
  timeCalls<6>("cuMemAllocAsync", d.memAllocAsync);
  timeCalls<7>("cuMemFreeAsync", d.memFreeAsync);
  timeCalls<8>("cuMemcpyHtoD", d.memcpyHtoD);
  timeCalls<9>("cuMemcpyDtoH", d.memcpyDtoH);
  timeCalls<10>("cuMemcpyAsync", d.memcpyAsync);
  timeCalls<11>("cuMemsetD32Async", d.memsetD32Async);
  timeCalls<12>("cuEventCreate", d.eventCreate);
  timeCalls<13>("cuEventRecord", d.eventRecord);
  timeCalls<14>("cuStreamWaitEvent", d.streamWaitEvent);
  timeCalls<15>("cuEventDestroy", d.eventDestroy);
  std::atexit(printCallStats);
}

/// Loads the library and the entry points; the error, if any.
std::string loadDriver(Driver &d) {
  const char *path = std::getenv("MNEMO_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    return std::string("the CUDA driver could not be loaded: ") +
           (why ? why : path);
  }
  const char *missing = nullptr;
  auto need = [&](const char *name, auto &function) {
    if (!resolve(library, name, function) && !missing)
      missing = name;
  };
  need("cuInit", d.init);
  need("cuDriverGetVersion", d.driverGetVersion);
  need("cuDeviceGetCount", d.deviceGetCount);
  need("cuDeviceGet", d.deviceGet);
  need("cuDeviceGetName", d.deviceGetName);
  need("cuDeviceGetAttribute", d.deviceGetAttribute);
  need("cuDeviceTotalMem_v2", d.deviceTotalMem);
  need("cuDevicePrimaryCtxRetain", d.primaryCtxRetain);
  need("cuCtxSetCurrent", d.ctxSetCurrent);
  need("cuGetErrorName", d.getErrorName);
  need("cuGetErrorString", d.getErrorString);
  need("cuMemAlloc_v2", d.memAlloc);
  need("cuMemFree_v2", d.memFree);
  need("cuMemcpyHtoD_v2", d.memcpyHtoD);
  need("cuMemcpyDtoH_v2", d.memcpyDtoH);
  need("cuMemcpyAsync", d.memcpyAsync);
  need("cuMemsetD32Async", d.memsetD32Async);
  need("cuMemsetD16Async", d.memsetD16Async);
  need("cuMemsetD8Async", d.memsetD8Async);
  need("cuModuleLoadData", d.moduleLoadData);
  need("cuModuleLoadDataEx", d.moduleLoadDataEx);
  need("cuModuleUnload", d.moduleUnload);
  need("cuModuleGetFunction", d.moduleGetFunction);
  need("cuLaunchKernel", d.launchKernel);
  need("cuStreamCreate", d.streamCreate);
  need("cuStreamSynchronize", d.streamSynchronize);
  need("cuStreamWaitEvent", d.streamWaitEvent);
  need("cuEventCreate", d.eventCreate);
  need("cuEventDestroy_v2", d.eventDestroy);
  need("cuEventRecord", d.eventRecord);
  need("cuEventSynchronize", d.eventSynchronize);
  // CUDA 12.8 renamed it; older drivers only have the first version.
  if (!resolve(library, "cuEventElapsedTime_v2", d.eventElapsedTime))
    need("cuEventElapsedTime", d.eventElapsedTime);
  // Stream-ordered allocation (CUDA 11.2): optional.
  resolve(library, "cuMemAllocAsync", d.memAllocAsync);
  resolve(library, "cuMemFreeAsync", d.memFreeAsync);
  resolve(library, "cuDeviceGetDefaultMemPool", d.deviceGetDefaultMemPool);
  resolve(library, "cuMemPoolSetAttribute", d.memPoolSetAttribute);
  if (missing)
    return std::string("the CUDA driver ") + path + " lacks " + missing +
           " (too old a driver?)";
  if (const char *stats = std::getenv("MNEMO_CUDA_STATS");
      stats && *stats && std::string(stats) != "0")
    timeDriverCalls(d);
  return "";
}

/// Initializes the driver and device 0 (or $MNEMO_CUDA_DEVICE).
std::string setUp(State &s) {
  if (std::string error = loadDriver(s.driver); !error.empty())
    return error;
  const Driver &d = s.driver;
  if (CUresult r = d.init(0))
    return describe("cuInit", r);
  int count = 0;
  if (CUresult r = d.deviceGetCount(&count))
    return describe("cuDeviceGetCount", r);
  int ordinal = 0;
  if (const char *chosen = std::getenv("MNEMO_CUDA_DEVICE");
      chosen && *chosen) {
    char *end = nullptr;
    long value = std::strtol(chosen, &end, 10);
    if (*end || value < 0 || value >= count)
      return "MNEMO_CUDA_DEVICE: '" + std::string(chosen) +
             "' is not a device ordinal (this machine has " +
             std::to_string(count) + " CUDA devices)";
    ordinal = static_cast<int>(value);
  }
  if (count == 0)
    return "no CUDA device is present";
  if (CUresult r = d.deviceGet(&s.device, ordinal))
    return describe("cuDeviceGet", r);
  if (CUresult r = d.primaryCtxRetain(&s.context, s.device))
    return describe("cuDevicePrimaryCtxRetain", r);

  DeviceInfo &info = s.info;
  info.ordinal = ordinal;
  char name[256] = {};
  if (d.deviceGetName(name, sizeof(name) - 1, s.device) == kSuccess)
    info.name = name;
  auto attribute = [&](int which) {
    int value = 0;
    return d.deviceGetAttribute(&value, which, s.device) == kSuccess ? value
                                                                     : 0;
  };
  info.computeMajor = attribute(kComputeCapabilityMajor);
  info.computeMinor = attribute(kComputeCapabilityMinor);
  info.multiprocessors = attribute(kMultiprocessorCount);
  info.l2CacheBytes = attribute(kL2CacheSize);
  // Double data rate: two transfers per clock of the bus.
  info.peakBandwidth = 2.0 * attribute(kMemoryClockRate) * 1e3 *
                       (attribute(kMemoryBusWidth) / 8.0);
  size_t total = 0;
  if (d.deviceTotalMem(&total, s.device) == kSuccess)
    info.memoryBytes = static_cast<int64_t>(total);
  d.driverGetVersion(&info.driverVersion);

  // Buffers of generated code come from the device's pool, which keeps
  // what is freed for the next call rather than returning it to the driver.
  if (d.memAllocAsync && d.memFreeAsync && d.deviceGetDefaultMemPool &&
      d.memPoolSetAttribute && attribute(kMemoryPoolsSupported)) {
    Handle pool = nullptr;
    uint64_t keepAll = UINT64_MAX;
    s.memoryPools = d.deviceGetDefaultMemPool(&pool, s.device) == kSuccess &&
                    d.memPoolSetAttribute(pool, kPoolReleaseThreshold,
                                          &keepAll) == kSuccess;
  }
  return "";
}

State &state() {
  // Never destroyed: generated code may run during other exit-time
  // destructors, and the driver tears its contexts down itself.
  static State &s = *new State;
  return s;
}

/// The driver state after the one-time set-up; `error` says if unusable.
State &initialized() {
  static std::once_flag once;
  State &s = state();
  std::call_once(once, [&] { s.error = setUp(s); });
  return s;
}

/// What the calling thread holds: its stream, and the first error that the
/// mgpu* calls met.
struct ThreadState {
  bool bound = false;
  Handle stream = nullptr;
  std::string error;

  /// Device blocks that generated code freed on this thread's stream, kept
  /// for its next allocation of the same size (a call's pool of
  /// intermediate buffers, every call: a decoding step made 13 allocations
  /// of about 8 us of host time each). Reuse is safe in stream order:
  /// kernels queued later on the stream run after those that used the
  /// block before it was freed.
  BlockCache<CUdeviceptr> cached;
  /// The sizes of the blocks generated code holds, by address.
  llvm::DenseMap<CUdeviceptr, uint64_t> live;

  ~ThreadState();
};
thread_local ThreadState thread;

/// Readies the calling thread (the device's context current, a stream);
/// false, with the reason in `thread.error`, when CUDA cannot be used.
bool bindThread() {
  State &s = initialized();
  if (!s.error.empty()) {
    if (thread.error.empty())
      thread.error = s.error;
    return false;
  }
  if (thread.bound)
    return true;
  if (CUresult r = s.driver.ctxSetCurrent(s.context)) {
    thread.error = describe("cuCtxSetCurrent", r);
    return false;
  }
  // A blocking stream: the synchronous copies of DeviceBuffer, on the
  // legacy default stream, are ordered with the work queued on it.
  if (CUresult r = s.driver.streamCreate(&thread.stream, /*flags=*/0)) {
    thread.error = describe("cuStreamCreate", r);
    return false;
  }
  thread.bound = true;
  return true;
}

/// For the mgpu* functions: whether to go on (no earlier error).
bool ready() { return thread.error.empty() && bindThread(); }

/// The cached blocks go back to the driver when their thread ends (errors
/// ignored: at process exit the driver may be gone already).
ThreadState::~ThreadState() {
  if (!bound)
    return;
  State &s = state();
  cached.drain([&](CUdeviceptr address) { s.driver.memFree(address); });
}

/// Records the first failure of a call made for generated code.
bool check(const char *call, CUresult result) {
  if (result == kSuccess)
    return true;
  if (thread.error.empty())
    thread.error = describe(call, result);
  return false;
}

llvm::Error checkNow(const char *call, CUresult result) {
  if (result == kSuccess)
    return llvm::Error::success();
  return makeError(describe(call, result));
}

Handle loadModule(const void *image, int optLevel, bool isPTX) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.modulesMutex);
  auto it = s.modules.find(image);
  if (it != s.modules.end())
    return it->second;
  Handle module = nullptr;
  CUresult result;
  char log[4096] = {};
  if (isPTX) {
    int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize,
                     kJitOptimizationLevel};
    void *values[] = {log, reinterpret_cast<void *>(sizeof(log) - 1),
                      reinterpret_cast<void *>(static_cast<intptr_t>(
                          std::max(0, std::min(optLevel, 4))))};
    result = s.driver.moduleLoadDataEx(&module, image, 3, options, values);
  } else {
    result = s.driver.moduleLoadData(&module, image);
  }
  if (result != kSuccess) {
    if (thread.error.empty()) {
      thread.error =
          describe(isPTX ? "cuModuleLoadDataEx" : "cuModuleLoadData", result);
      if (log[0])
        thread.error += std::string(": ") + log;
    }
    return nullptr;
  }
  s.modules[image] = module;
  return module;
}

} // namespace

std::string DeviceInfo::chip() const {
  return "sm_" + std::to_string(computeMajor) + std::to_string(computeMinor);
}

llvm::Error initialize() {
  State &s = initialized();
  if (!s.error.empty())
    return makeError(s.error);
  return llvm::Error::success();
}

llvm::Expected<DeviceInfo> device() {
  if (llvm::Error error = initialize())
    return std::move(error);
  return state().info;
}

/// Readies the calling thread for a synchronous call; its error otherwise.
static llvm::Error bindForCall() {
  if (bindThread())
    return llvm::Error::success();
  std::string why = thread.error;
  thread.error.clear();
  return makeError(why);
}

llvm::Expected<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  if (llvm::Error error = bindForCall())
    return std::move(error);
  DeviceBuffer buffer;
  if (bytes == 0)
    return std::move(buffer);
  CUdeviceptr address = 0;
  if (CUresult r = state().driver.memAlloc(&address, bytes))
    return makeError(describe("cuMemAlloc", r) + " allocating " +
                     std::to_string(bytes) + " bytes of device memory");
  buffer.address = address;
  buffer.bytes = bytes;
  return std::move(buffer);
}

llvm::Expected<DeviceBuffer> DeviceBuffer::copyOf(const void *data,
                                                  size_t bytes) {
  auto buffer = allocate(bytes);
  if (!buffer)
    return buffer.takeError();
  if (llvm::Error error = buffer->upload(data, bytes))
    return std::move(error);
  return std::move(*buffer);
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    if (address)
      state().driver.memFree(address);
    address = other.address;
    bytes = other.bytes;
    other.address = 0;
    other.bytes = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (address)
    state().driver.memFree(address);
}

/// A copy of `count` bytes at `offset` must lie within a buffer of `size`.
static llvm::Error checkRange(size_t count, size_t offset, size_t size) {
  if (offset > size || count > size - offset)
    return makeError("copy of " + std::to_string(count) + " bytes at " +
                     std::to_string(offset) + " overruns a device buffer of " +
                     std::to_string(size));
  return llvm::Error::success();
}

llvm::Error DeviceBuffer::upload(const void *host, size_t count,
                                 size_t offset) {
  if (llvm::Error error = checkRange(count, offset, bytes))
    return error;
  return copyToDevice(reinterpret_cast<void *>(address + offset), host, count);
}

llvm::Error DeviceBuffer::download(void *host, size_t count,
                                   size_t offset) const {
  if (llvm::Error error = checkRange(count, offset, bytes))
    return error;
  return copyToHost(host, reinterpret_cast<const void *>(address + offset),
                    count);
}

static CUdeviceptr deviceAddress(const void *address) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(address));
}

llvm::Error copyToDevice(void *device, const void *host, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (llvm::Error error = bindForCall())
    return error;
  return checkNow("cuMemcpyHtoD", state().driver.memcpyHtoD(
                                      deviceAddress(device), host, bytes));
}

llvm::Error copyToHost(void *host, const void *device, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (llvm::Error error = bindForCall())
    return error;
  return checkNow("cuMemcpyDtoH", state().driver.memcpyDtoH(
                                      host, deviceAddress(device), bytes));
}

llvm::Error copyOnDevice(void *to, const void *from, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (llvm::Error error = bindForCall())
    return error;
  const Driver &d = state().driver;
  if (llvm::Error error = checkNow(
          "cuMemcpyAsync", d.memcpyAsync(deviceAddress(to), deviceAddress(from),
                                         bytes, thread.stream)))
    return error;
  return checkNow("cuStreamSynchronize", d.streamSynchronize(thread.stream));
}

llvm::Error zeroOnDevice(void *device, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  if (llvm::Error error = bindForCall())
    return error;
  const Driver &d = state().driver;
  if (llvm::Error error =
          checkNow("cuMemsetD8Async", d.memsetD8Async(deviceAddress(device), 0,
                                                      bytes, thread.stream)))
    return error;
  return checkNow("cuStreamSynchronize", d.streamSynchronize(thread.stream));
}

llvm::Error synchronize() {
  if (thread.bound)
    check("cuStreamSynchronize",
          state().driver.streamSynchronize(thread.stream));
  else
    bindThread();
  if (thread.error.empty())
    return llvm::Error::success();
  std::string error = std::move(thread.error);
  thread.error.clear();
  return makeError(error);
}

void *stream() { return bindThread() ? thread.stream : nullptr; }

Timer::~Timer() {
  if (begin)
    state().driver.eventDestroy(begin);
  if (end)
    state().driver.eventDestroy(end);
}

llvm::Error Timer::start() {
  if (llvm::Error error = synchronize())
    return error;
  const Driver &d = state().driver;
  if (!begin)
    if (llvm::Error error = checkNow("cuEventCreate", d.eventCreate(&begin, 0)))
      return error;
  if (!end)
    if (llvm::Error error = checkNow("cuEventCreate", d.eventCreate(&end, 0)))
      return error;
  return checkNow("cuEventRecord", d.eventRecord(begin, thread.stream));
}

llvm::Expected<double> Timer::stop() {
  if (!begin || !end)
    return makeError("GPU timer stopped before it was started");
  const Driver &d = state().driver;
  if (llvm::Error error =
          checkNow("cuEventRecord", d.eventRecord(end, thread.stream)))
    return std::move(error);
  if (llvm::Error error =
          checkNow("cuEventSynchronize", d.eventSynchronize(end)))
    return std::move(error);
  if (llvm::Error error = synchronize())
    return std::move(error);
  float milliseconds = 0;
  if (llvm::Error error = checkNow(
          "cuEventElapsedTime", d.eventElapsedTime(&milliseconds, begin, end)))
    return std::move(error);
  return milliseconds * 1e-3;
}

void forgetImage(const void *image) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.modulesMutex);
  auto it = s.modules.find(image);
  if (it == s.modules.end())
    return;
  s.driver.moduleUnload(it->second);
  s.modules.erase(it);
}

} // namespace mnemo::cuda

//===----------------------------------------------------------------------===//
// What generated host code calls (the signatures of MLIR 19's gpu-to-llvm)
//===----------------------------------------------------------------------===//

using namespace mnemo::cuda;

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  if (!ready())
    return nullptr;
  return loadModule(data, 0, /*isPTX=*/false);
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!ready())
    return nullptr;
  return loadModule(data, optLevel, /*isPTX=*/true);
}

/// Modules stay loaded for the next launch; forgetImage unloads them.
void mgpuModuleUnload(void * /*module*/) {}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!ready() || !module)
    return nullptr;
  Handle function = nullptr;
  if (!check("cuModuleGetFunction",
             state().driver.moduleGetFunction(&function, module, name)))
    return nullptr;
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedMemory, void *stream,
                      void **params, void ** /*extra*/,
                      size_t /*paramsCount*/) {
  if (!ready() || !function)
    return;
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return; // no work (a call on zero tokens)
  check("cuLaunchKernel",
        state().driver.launchKernel(
            function, static_cast<unsigned>(gridX),
            static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
            static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
            static_cast<unsigned>(blockZ), static_cast<unsigned>(sharedMemory),
            stream, params, nullptr));
}

/// The calling thread's stream, for every function call of generated code.
void *mgpuStreamCreate() { return ready() ? thread.stream : nullptr; }

void mgpuStreamDestroy(void * /*stream*/) {}

void mgpuStreamSynchronize(void *stream) {
  if (ready() && stream)
    check("cuStreamSynchronize", state().driver.streamSynchronize(stream));
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (ready() && stream && event)
    check("cuStreamWaitEvent",
          state().driver.streamWaitEvent(stream, event, 0));
}

void *mgpuEventCreate() {
  Handle event = nullptr;
  if (!ready() || !check("cuEventCreate", state().driver.eventCreate(
                                              &event, /*disable timing*/ 2)))
    return nullptr;
  return event;
}

void mgpuEventDestroy(void *event) {
  if (event)
    state().driver.eventDestroy(event);
}

void mgpuEventSynchronize(void *event) {
  if (ready() && event)
    check("cuEventSynchronize", state().driver.eventSynchronize(event));
}

void mgpuEventRecord(void *event, void *stream) {
  if (ready() && event)
    check("cuEventRecord", state().driver.eventRecord(event, stream));
}

void *mgpuMemAlloc(uint64_t bytes, void *stream, bool isHostShared) {
  if (!ready() || bytes == 0)
    return nullptr;
  if (isHostShared) {
    thread.error = "generated code asked for host-shared (managed) memory, "
                   "which Mnemo does not use";
    return nullptr;
  }
  // Sizes in classes (multiples of 64 KiB, or of an eighth of their power
  // of two above 512 KiB), so that a call's pool, which grows with the
  // attention's keys step by step, still finds the block it freed.
  constexpr uint64_t kGranule = uint64_t{64} << 10;
  uint64_t granule = std::max(kGranule, llvm::bit_floor(bytes) / 8);
  if (bytes > UINT64_MAX - granule) {
    thread.error =
        "cannot allocate " + std::to_string(bytes) + " bytes of device memory";
    return nullptr;
  }
  bytes = llvm::alignTo(bytes, granule);
  if (stream == thread.stream)
    if (CUdeviceptr address = thread.cached.take(bytes)) {
      thread.live[address] = bytes;
      return reinterpret_cast<void *>(address);
    }
  State &s = state();
  CUdeviceptr address = 0;
  bool ok = s.memoryPools
                ? check("cuMemAllocAsync",
                        s.driver.memAllocAsync(&address, bytes, stream))
                : check("cuMemAlloc", s.driver.memAlloc(&address, bytes));
  if (!ok) {
    thread.error += " allocating " + std::to_string(bytes) + " bytes";
    return nullptr;
  }
  thread.live[address] = bytes;
  return reinterpret_cast<void *>(address);
}

void mgpuMemFree(void *pointer, void *stream) {
  if (!pointer)
    return;
  State &s = state();
  auto address = reinterpret_cast<CUdeviceptr>(pointer);
  auto it = thread.live.find(address);
  if (it != thread.live.end()) {
    uint64_t bytes = it->second;
    thread.live.erase(it);
    if (stream == thread.stream && thread.cached.keep(address, bytes))
      return;
  }
  if (s.memoryPools) {
    check("cuMemFreeAsync", s.driver.memFreeAsync(address, stream));
    return;
  }
  // Without pools, kernels queued on the stream may still use the block.
  if (stream)
    check("cuStreamSynchronize", s.driver.streamSynchronize(stream));
  check("cuMemFree", s.driver.memFree(address));
}

void mgpuMemcpy(void *destination, void *source, size_t bytes, void *stream) {
  if (ready() && bytes)
    check("cuMemcpyAsync",
          state().driver.memcpyAsync(reinterpret_cast<CUdeviceptr>(destination),
                                     reinterpret_cast<CUdeviceptr>(source),
                                     bytes, stream));
}

void mgpuMemset32(void *destination, unsigned value, size_t count,
                  void *stream) {
  if (ready() && count)
    check("cuMemsetD32Async", state().driver.memsetD32Async(
                                  reinterpret_cast<CUdeviceptr>(destination),
                                  value, count, stream));
}

void mgpuMemset16(void *destination, unsigned short value, size_t count,
                  void *stream) {
  if (ready() && count)
    check("cuMemsetD16Async", state().driver.memsetD16Async(
                                  reinterpret_cast<CUdeviceptr>(destination),
                                  value, count, stream));
}

} // extern "C"

namespace mnemo::cuda {

const std::vector<EntryPoint> &entryPoints() {
  static const std::vector<EntryPoint> entries = {
#define MNEMO_MGPU(name) {#name, reinterpret_cast<void *>(&name)}
      MNEMO_MGPU(mgpuModuleLoad),      MNEMO_MGPU(mgpuModuleLoadJIT),
      MNEMO_MGPU(mgpuModuleUnload),    MNEMO_MGPU(mgpuModuleGetFunction),
      MNEMO_MGPU(mgpuLaunchKernel),    MNEMO_MGPU(mgpuStreamCreate),
      MNEMO_MGPU(mgpuStreamDestroy),   MNEMO_MGPU(mgpuStreamSynchronize),
      MNEMO_MGPU(mgpuStreamWaitEvent), MNEMO_MGPU(mgpuEventCreate),
      MNEMO_MGPU(mgpuEventDestroy),    MNEMO_MGPU(mgpuEventSynchronize),
      MNEMO_MGPU(mgpuEventRecord),     MNEMO_MGPU(mgpuMemAlloc),
      MNEMO_MGPU(mgpuMemFree),         MNEMO_MGPU(mgpuMemcpy),
      MNEMO_MGPU(mgpuMemset32),        MNEMO_MGPU(mgpuMemset16),
#undef MNEMO_MGPU
  };
  return entries;
}

} // namespace mnemo::cuda
