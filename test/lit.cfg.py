# -*- Python -*-
# lit configuration of Mnemo's FileCheck suite.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "Mnemo"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mnemo_obj_root, "test")
config.excludes = [
    "Inputs",
    "CMakeLists.txt",
    "README.md",
    "lit.cfg.py",
    "lit.site.cfg.py",
]

# Captured FileCheck variables do not leak across CHECK-LABELs.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope --dump-input=fail"

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not` and `count` at the start of a pipeline are found through PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%mnemo_src_root", config.mnemo_src_root))
config.substitutions.append(("%mnemo_obj_root", config.mnemo_obj_root))
config.substitutions.append(("%mnemo_tools_dir", config.mnemo_tools_dir))

# Execution tests run lowered IR under mlir-cpu-runner with the upstream
# runner utilities, OpenMP and Mnemo's runtime support library.
runner_libs = [
    os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils.so"),
    os.path.join(config.llvm_lib_dir, "libmlir_runner_utils.so"),
    os.path.join(config.llvm_lib_dir, "libomp.so"),
    os.path.join(config.mnemo_lib_dir, "libmnemo_runtime.so"),
]
config.substitutions.append(
    (
        "%mlir_cpu_runner",
        "mlir-cpu-runner -e main -entry-point-result=void -shared-libs="
        + ",".join(runner_libs),
    )
)
config.substitutions.append(("%python", config.python_executable))

tool_dirs = [config.mnemo_tools_dir, config.llvm_tools_dir]
tools = ["mnemo-opt", "mnemoc", "mnemo-capi-load-test", "mlir-cpu-runner"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Compiled kernels go to a cache of the test tree, never the user's.
config.environment["MNEMO_CACHE_DIR"] = os.path.join(
    config.test_exec_root, "kernel-cache"
)

# NVIDIA's PTX assembler, when the CUDA toolkit is installed: generated PTX
# is assembled for sm_80 and sm_90 (no GPU needed).
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas"
    if os.access("/usr/local/cuda/bin/ptxas", os.X_OK)
    else None
)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# The CUDA driver: tests under Integration/CUDA run kernels on the GPU and
# need one (`cuda-device`); without one they are UNSUPPORTED. NVIDIA's stub
# driver, which answers every call with CUDA_ERROR_STUB_LIBRARY, checks the
# runtime's error paths on any machine with the toolkit (`cuda-stub`).
def cuda_device_present():
    import ctypes

    try:
        driver = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return driver.cuInit(0) == 0 and (
            driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
        )
    except (OSError, AttributeError):
        return False


if cuda_device_present():
    config.available_features.add("cuda-device")
cuda_stub = "/usr/local/cuda/lib64/stubs/libcuda.so"
if os.path.exists(cuda_stub):
    config.available_features.add("cuda-stub")
    config.substitutions.append(("%cuda_stub", cuda_stub))
llvm_config.with_system_environment(["MNEMO_CUDA_DEVICE", "MNEMO_VERIFY_EACH"])

# A sanitizer build (-DMNEMO_SANITIZE=address,undefined, run by
# `scripts/test.sh --sanitize`, which sets the sanitizers' options):
# findings abort the process. Tests that load Mnemo's instrumented
# libraries into programs built without the sanitizers (mlir-cpu-runner, a
# C app of the installed package) say `UNSUPPORTED: sanitizer`.
if config.mnemo_sanitize:
    config.available_features.add("sanitizer")
llvm_config.with_system_environment(["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"])
