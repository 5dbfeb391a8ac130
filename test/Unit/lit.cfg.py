# -*- Python -*-
# lit configuration that runs every gtest case of Mnemo's unit tests as one
# lit test.

import os

import lit.formats

config.name = "Mnemo-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.mnemo_obj_root, "test", "Unit")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")

# The sanitizers' options of a sanitizer build (scripts/test.sh --sanitize),
# which also verifies the JIT's IR after every pass.
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MNEMO_VERIFY_EACH"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
