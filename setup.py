"""Declares the C extension only; the project metadata lives in pyproject.toml."""

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    cflags = []  # the C code needs gcc/clang (unsigned __int128); MSVC builds fail and fall back
else:
    cflags = ["-O3", "-std=c99", "-Wall", "-Wextra"]

setup(
    ext_modules=[
        Extension(
            "ispc_core.zk._native._poseidon",
            sources=["ispc_core/zk/_native/poseidon.c"],
            extra_compile_args=cflags,
            # A failed compile is a warning, not a failed install: the pure-Python
            # permutation in ispc_core.zk.poseidon is used instead.
            optional=True,
        )
    ],
)
