"""Native parts, compiled at install time (``pip install -e .``) with the machine's C compiler.

Each extension is optional: when it cannot be built, the package falls back to
its pure-Python path (same answers, slower) and says so once in the log.
"""

from setuptools import Extension, setup

NATIVE_FLAGS = ["-O2", "-std=c11", "-Wall", "-Wno-unused-function"]

setup(
    ext_modules=[
        Extension(
            "charter.sdk._avro_encode",
            ["charter/sdk/native/avro_encode.c", "charter/sdk/native/produce_dispatch.c"],
            depends=["charter/sdk/native/avro_encode.h"],
            optional=True,
            extra_compile_args=NATIVE_FLAGS,
        ),
        # The produce gate's passing path (governance.native_gate).
        Extension(
            "governance._gate_native",
            ["governance/native/gate_native.c"],
            optional=True,
            extra_compile_args=NATIVE_FLAGS,
        ),
    ]
)
