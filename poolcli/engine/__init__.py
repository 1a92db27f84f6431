"""The only code that imports torch: conversion, the pooling paths, devices, gradients."""

import os

# torch backs its large buffers with 2 MiB pages when this is set before it is imported: a
# fresh buffer then costs 512 times fewer page faults, which took eager pooling of 8192²
# float32 from 157 ms to 39 ms here (benchmarks/README.md). It does nothing once torch is
# imported, so buffers this package writes results into ask for huge pages themselves
# (poolcli.engine.memory). An explicit setting in the environment is kept.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
