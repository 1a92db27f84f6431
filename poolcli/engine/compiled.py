"""Fused kernels: the separable, taps and median-network paths through ``torch.compile``.

Eager torch makes one pass over memory per elementwise op; Inductor fuses a whole window's
arithmetic into one loop (C++ with OpenMP on the CPU, Triton on a GPU), which is what brings
sliding windows near the memory limit. The compiled kernels do the eager paths' arithmetic:
float sums add in the eager paths' order; max, min, medians and integer sums, exact in any
order, take the order measured fastest, and are identical to the eager paths' results.

Each kernel writes its result into a buffer it is given (:mod:`poolcli.engine.memory`, on
huge pages in a warm process) and stays one loop (:data:`_ONE_LOOP`). They take windows
without padding only (the output size then follows from the input's own, and every input
size shares one compiled kernel: ``dynamic=True``). Compiled kernels land in
Inductor's on-disk cache (``TORCHINDUCTOR_CACHE_DIR``, by default ``~/.cache/poolcli/inductor``),
so a later process loads them instead of compiling.

When they run (:func:`wanted`):

- after :func:`warm_up` (a long-lived process calls it at start) or inside :func:`enabled`,
  for every input of at least :data:`WARM_FROM` cells; after ``warm_up(new_kernels=False)``
  (the server's kernel worker, whose commands must never wait for a compiler) only through
  the kernels this process has already loaded;
- in a one-shot call, only for inputs of at least :data:`ONE_SHOT_FROM` cells whose kernel this
  machine has compiled before (loading it and importing the compiler cost seconds, which only
  inputs that large win back), so a cold call is never slower than eager;
- never with ``POOLCLI_COMPILE=0``; always, where possible, with ``POOLCLI_COMPILE=1``.

Without a C++ compiler (or Triton on a GPU), or when compiling fails, the eager path runs and
the reason is logged once (``poolcli --debug`` shows it).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import os
import shutil
import warnings
from pathlib import Path

import torch

from poolcli.engine import memory, networks
from poolcli.engine.convert import rounds
from poolcli.engine.counting import BITS, COUNTED, count_step, keys, values
from poolcli.engine.fused import _divided, _median, _median_taps, box, max_min_split
from poolcli.engine.median import median_network
from poolcli.engine.separable import SEPARABLE, pass_order
from poolcli.engine.taps import ROUND_IN_FLOAT32, _accumulation, quotient_dtype
from poolcli.model.reductions import Reduction

log = logging.getLogger(__name__)

#: After warm-up, inputs of at least this many cells use the compiled kernels.
WARM_FROM = 1 << 16
#: In a one-shot call, inputs of at least this many cells use an already compiled kernel.
ONE_SHOT_FROM = 1 << 29
#: The largest median-of-n network compiled (5x5: one to two minutes to compile the first time).
MEDIAN_TAPS = 25
#: The largest 8-bit median counted in a compiled kernel (:class:`_Counts`): up to 255
#: cells the counts fit uint8 (a 15×15 step compiles in about 45 s the first time). Larger
#: windows count eagerly.
COUNTED_TAPS = 255
#: Integer sums and averages of windows of this many cells or more (over two axes or more)
#: run as two kernels: the first axis, then the rest (:class:`_Split`): 7x7 average of
#: 4096²×3 uint8 33-58 ms against 58-107 ms in one loop; 3x3 and 5x5 stay one loop (36
#: against 79 ms, 41 against 61 ms).
SUM_SPLIT_TAPS = 49
#: The intermediate buffer of a split kernel: one strip of this many bytes at a time. With 2
#: threads on a quiet machine (medians of 9, interleaved, load average 1.0-1.2), 8 MiB won on
#: the 7x7 max of 8192² float32 (50 ms against 53-65 ms at 4 MiB and 57-60 ms at 16 MiB), and
#: tied or won on the 7x7 min and rounded average of 4096²×3 uint8 (8.6 against 8.8-9.5 ms,
#: 15.3-16.4 against 16.3-22.5 ms): half the parallel calls of 4 MiB, still in the 32 MiB L3.
#: On one thread 4 and 8 MiB tied; 1 MiB pays for more calls, 16 MiB leaves the cache. On a
#: busy machine each parallel call may wait for a core: with 2 threads at load average 2.5
#: the uint8 7x7 min took 188 ms in 4 MiB strips, 23 ms in one 64 MiB strip, 44 ms in one
#: loop (medians of 11).
STRIP_BYTES = 8 << 20
#: The kernels' generation: a marker left by an earlier one does not count as compiled.
KERNELS = 6
_DTYPES = frozenset(
    {torch.float32, torch.float64, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}
)
_state = {"warm": False, "forced": False, "broken": None, "loaded": set()}
#: ``_state["warm"]`` of a process that uses only the kernels it has loaded.
LOADED = "loaded"


def cache_dir() -> Path:
    """Inductor's on-disk cache: ``TORCHINDUCTOR_CACHE_DIR``, else a per-user directory."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(base) / "poolcli" / "inductor")
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


def available(device: str = "cpu") -> bool:
    """Whether kernels can be compiled here (said once in the log when they cannot)."""
    if _state["broken"] is not None:
        return False
    reason = _missing(device, os.environ.get("CXX", "g++"), os.environ.get("PATH"))
    if reason:
        _give_up(reason)
    return reason is None


@functools.cache
def _missing(device: str, cxx: str, path: str | None) -> str | None:
    """What compiling on ``device`` lacks here, or None (looked up once: a search of PATH
    costs more than a small kernel's call)."""
    if device == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "Triton is not installed"
    return None if shutil.which(cxx, path=path) else f"no C++ compiler ({cxx}) on PATH"


def _give_up(reason: str) -> None:
    if _state["broken"] is None:
        _state["broken"] = reason
        log.debug("compiled kernels off, eager paths instead: %s", reason)


@contextlib.contextmanager
def enabled():
    """Use the compiled kernels (compiling them as needed) and huge-page outputs
    (:mod:`poolcli.engine.memory`) inside this block."""
    before = _state["warm"]
    _state["warm"] = True
    try:
        with memory.huge_pages():
            yield
    finally:
        _state["warm"] = before


def wanted(x: torch.Tensor, key: tuple) -> bool:
    """Whether this call should run compiled (see the module's docstring)."""
    setting = os.environ.get("POOLCLI_COMPILE")
    if setting == "0" or x.dtype not in _DTYPES or x.requires_grad:
        return False
    if setting == "1" or _state["forced"]:
        return available(x.device.type)
    if x.numel() >= WARM_FROM and (
        _state["warm"] is True or (_state["warm"] == LOADED and key in _state["loaded"])
    ):
        return available(x.device.type)
    return x.numel() >= ONE_SHOT_FROM and _marker(key).exists() and available(x.device.type)


def _marker(key: tuple) -> Path:
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return cache_dir() / "poolcli" / digest


class _Split:
    """A box as two one-loop kernels through a buffer of its own (``inner``'s result, in
    ``dtype``): max/min windows as :func:`max_min_split` gives (a 7x7 max reads 7 + 7 cells
    per output instead of 49), large integer sums along the first axis and then the rest
    (7x7: 7 + 7 reads instead of 49; exact in any order)."""

    def __init__(self, inner: tuple, outer: tuple, dtype):
        self.inner, self.outer = _compiled(*inner), _compiled(*outer)
        self.spatial, self.inner_axes, self.dtype = inner[1][2], inner[1][1], dtype
        self.outer_axes = outer[1][0] if outer[0] == "divided" else outer[1][1]

    def __call__(self, x, out) -> None:
        # Strips of output rows (the first spatial axis), so that the runs of one strip stay
        # in the cache and one small buffer serves every strip.
        first = self.spatial[0]
        (k_in, s_in, d_in), (k_out, s_out, d_out) = self.inner_axes[0], self.outer_axes[0]
        shape = list(x.shape)
        for axis_index, (kernel, stride, dilation) in zip(self.spatial, self.inner_axes):
            shape[axis_index] = (shape[axis_index] - dilation * (kernel - 1) - 1) // stride + 1
        row_bytes = math.prod(shape) // max(shape[first], 1) * self.dtype.itemsize
        rows = max(1, STRIP_BYTES // max(row_bytes, 1) // s_out)
        shape[first] = min(shape[first], (rows - 1) * s_out + d_out * (k_out - 1) + 1)
        runs = memory.empty(shape, self.dtype, x.device)
        for r0 in range(0, out.shape[first], rows):
            r1 = min(out.shape[first], r0 + rows)
            a, b = r0 * s_out, (r1 - 1) * s_out + d_out * (k_out - 1) + 1
            x0, x1 = a * s_in, (b - 1) * s_in + d_in * (k_in - 1) + 1
            strip = runs.narrow(first, 0, b - a)
            self.inner(x.narrow(first, x0, x1 - x0), strip)
            self.outer(strip, out.narrow(first, r0, r1 - r0))


def _split_plan(x, reduction, axes, spatial, acc, order, quotient, rounds_to):
    """The two kernels of a :class:`_Split` for this box, or None where one loop is faster."""
    if reduction in (Reduction.MAX, Reduction.MIN):
        split = max_min_split(axes)
        if split is None:
            return None
        inner_axes, outer_axes = split
        inner = ("box", (reduction, inner_axes, spatial, acc, order, None, None))
        return inner, ("box", (reduction, outer_axes, spatial, acc, order, None, None)), x.dtype
    count = math.prod(kernel for kernel, _, _ in axes)
    if x.dtype.is_floating_point or count < SUM_SPLIT_TAPS or count == axes[0][0]:
        return None
    identity = (1, 1, 1)
    inner_axes = (axes[0],) + (identity,) * (len(axes) - 1)
    outer_axes = (identity, *axes[1:])
    inner = ("box", (Reduction.SUM, inner_axes, spatial, acc, None, None, None))
    if reduction is Reduction.SUM:
        return inner, ("box", (Reduction.SUM, outer_axes, spatial, acc, None, None, None)), acc
    return inner, ("divided", (outer_axes, spatial, acc, quotient, count, rounds_to)), acc


@functools.cache
def _compiled(kind: str, static: tuple):
    """The compiled kernel for one set of window parameters (every input size shares it)."""
    if kind == "split":
        return _Split(*static)
    if kind == "counts":
        return _Counts(*static)
    fn = {
        "median": _median,
        "median taps": _median_taps,
        "box": box,
        "divided": _divided,
    }[kind]
    return _compile(functools.partial(_into, functools.partial(fn, *static)), _ONE_LOOP)


def _compile(kernel, options):
    import torch._dynamo

    cache_dir()
    config = torch._dynamo.config
    config.cache_size_limit = max(config.cache_size_limit, 256)
    return torch.compile(kernel, dynamic=True, fullgraph=True, options=options)


class _Counts:
    """An 8-bit median as eight calls of one compiled bisection step
    (:func:`poolcli.engine.counting.count_step`). All eight steps in one loop ran no faster
    (9×9 of 1024²×3 uint8: 61 against 63 ms) and took 2.5 times as long to compile (56 s);
    the step of a 15×15 window compiles in about 45 s. Inductor's default options: the step
    is one loop already, and kept in registers it took minutes longer to compile."""

    def __init__(self, axes, spatial):
        self.step = _compile(functools.partial(count_step, axes, spatial), None)

    def __call__(self, x, out) -> None:
        counted = keys(x)
        median = torch.zeros(out.shape, dtype=torch.uint8, device=x.device)
        for value in BITS:
            bit = torch.tensor(value, dtype=torch.uint8, device=x.device)
            median = self.step(counted, median, bit)
        out.copy_(values(median, x.dtype))


#: Inductor options that keep each kernel one loop. By default Inductor stores the results
#: that several outputs read (the sorted columns of the 3x3 median, the first axis' pass of
#: a box) in buffers of their own, in fresh memory, and makes a second loop; recomputing
#: them in registers costs less here: the 3x3 median of 4096² float32 took 32 ms against
#: 91 ms, the 5x5 max of 8192² float32 99 ms against 274 ms, the 5x5 average of 4096²×3
#: uint8 60 ms against 266 ms (benchmarks/README.md).
_ONE_LOOP = {
    "realize_opcount_threshold": 1 << 20,
    "realize_reads_threshold": 1 << 20,
    "realize_acc_reads_threshold": 1 << 20,
}


def _into(kernel, x, out) -> None:
    """``kernel(x)`` written into ``out``: Inductor stores the fused loop's results there."""
    out.copy_(kernel(x))


def _plan(x, reduction, windows, spatial, chosen, options):
    """``(kind, static arguments)`` of the kernel for this call, or None when none fits."""
    if any(a.bins is not None or a.pad_begin for a in windows):
        return None
    if any((a.out - 1) * a.stride + a.effective_kernel > a.size for a in windows):
        return None
    axes = networks.static(windows)
    if chosen == "networks":
        return "median", (axes, tuple(spatial))
    taps = math.prod(a.kernel for a in windows)
    median = reduction is Reduction.MEDIAN and chosen in ("taps", "counting")
    if median and x.dtype in COUNTED and MEDIAN_TAPS < taps <= COUNTED_TAPS:
        # 8-bit medians beyond the networks compiled count (the same cell, bit for bit).
        return "counts", (axes, tuple(spatial))
    if chosen == "taps" and reduction is Reduction.MEDIAN and taps <= MEDIAN_TAPS:
        network = median_network(taps)
        return "median taps", (axes, tuple(spatial), network)
    if reduction not in SEPARABLE or chosen not in ("taps", "separable"):
        return None
    acc, _, _ = _accumulation(x, reduction, windows, options)
    order = tuple(pass_order(windows)) if chosen == "separable" else None
    # Max, min and integer sums are exact in any order; the fastest one loop measured:
    if reduction in (Reduction.MAX, Reduction.MIN):
        # the last (contiguous) axis first (5x5 max of 8192² float32: 99 ms against 158 ms
        # for the first axis first, 128 ms for every tap in turn);
        order = tuple(sorted(range(len(windows)), key=lambda i: (-windows[i].stride, -i)))
    elif not x.dtype.is_floating_point:
        order = None  # every tap in turn (7x7 average of 4096²×3 uint8: 56 ms against 82 ms)
    quotient, rounds_to = quotient_dtype(acc, x.dtype, options), None
    if reduction is Reduction.AVG and rounds(options.dtype):
        quotient, rounds_to = _rounding_quotient(x.dtype, taps), x.dtype
        if quotient is None:
            return None
        if acc is torch.int16:
            # int16 sums vectorize poorly here: 3x3 average of 4096²×3 uint8 to uint8 186 ms
            # in int16 against 19 ms in int32.
            acc = torch.int32
    split = _split_plan(x, reduction, axes, tuple(spatial), acc, order, quotient, rounds_to)
    if split is not None:
        return "split", split
    if acc is torch.float32 and not x.dtype.is_floating_point:
        # 8-bit sums add in int32 in one loop (exact, same quotient): 3x3 average of
        # 4096²×3 uint8 20 ms against 25 ms in float32, 5x5 51 against 66 ms.
        acc = torch.int32
    return "box", (reduction, axes, tuple(spatial), acc, order, quotient, rounds_to)


def _rounding_quotient(dtype: torch.dtype, taps: int) -> torch.dtype | None:
    """The float dtype whose quotient of exact integer sums rounds to the exact mean's
    rounding (:func:`poolcli.engine.taps.rounded_mean`), or None for the eager path: float32
    for 8-bit windows up to ``ROUND_IN_FLOAT32`` cells; float64 for the others below 2**20
    cells (sums of 32-bit values stay below 2**52, and a mean that is no tie lies more than
    2**-21 from one: more than half float64's step below 2**32)."""
    if torch.iinfo(dtype).bits <= 8 and taps <= ROUND_IN_FLOAT32:
        return torch.float32
    return torch.float64 if taps < 1 << 20 else None


def pool_compiled(x, reduction, windows, spatial, chosen, options, out_dtype):
    """The chosen path's result in ``out_dtype`` through its compiled kernel, or None to run
    it eagerly."""
    plan = _plan(x, reduction, windows, spatial, chosen, options)
    if plan is None:
        return None
    key = (*plan, x.dtype, out_dtype, x.dim(), x.device.type, torch.__version__, KERNELS)
    if not wanted(x, key):
        return None
    shape = list(x.shape)
    for axis_index, axis in zip(spatial, windows):
        shape[axis_index] = axis.out
    y = memory.empty(shape, out_dtype, x.device)
    try:
        with warnings.catch_warnings():
            # torch's compiler warns about its own deprecated internals.
            warnings.simplefilter("ignore", DeprecationWarning)
            _compiled(*plan)(x, y)
    except Exception as error:  # noqa: BLE001 - any compiler failure falls back to eager
        _give_up(f"compiling failed ({type(error).__name__}: {error})")
        return None
    log.debug("ran the compiled %s kernel", plan[0])
    if key not in _state["loaded"]:
        _state["loaded"].add(key)
        marker = _marker(key)
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
    return y


#: What :func:`warm_up` compiles by default, and what the server's kernel worker holds: the
#: windows of benchmarks/bench_peers.py, as (reduction, dtype, layout, kernel, stride, output
#: dtype option: None, or "uint8" for 8-bit averages rounded back to 8 bits).
WARM_CASES = (
    *(("max", torch.float32, "HW", k, 1, None) for k in (3, 5, 7)),
    *(("avg", torch.float32, "HW", k, 1, None) for k in (3, 5, 7)),
    ("avg", torch.float32, "HW", 2, 2, None),
    *(("median", torch.float32, "HW", k, 1, None) for k in (3, 5)),
    *(("min", torch.uint8, "HWC", k, 1, None) for k in (3, 5, 7)),
    *(("avg", torch.uint8, "HWC", k, 1, out) for k in (3, 5, 7) for out in (None, "uint8")),
    *(("median", torch.uint8, "HWC", k, 1, None) for k in (3, 5, 7, 9, 15)),
    ("max", torch.float32, "DHW", 3, 1, None),
)


def warm_cases(name: str | None) -> tuple:
    """The cases a warm-up named ``name`` compiles: ``"3x3"`` for the 3x3 (and 2x2) windows
    only, which build in about a minute the first time, anything else for every one of
    :data:`WARM_CASES` (about six minutes, the medians most of it)."""
    if name == "3x3":
        return tuple(case for case in WARM_CASES if case[3] <= 3)
    return WARM_CASES


def warm_up(cases=WARM_CASES, new_kernels: bool = True) -> int:
    """Compile (or load from the on-disk cache) the kernels of ``cases`` and turn the compiled
    kernels on for this process: every kernel, compiled on first use, or with ``new_kernels``
    false only those loaded so far (the rest run eagerly, or as a one-shot call would).
    Returns how many kernels are ready (0 when none can be)."""
    from poolcli.engine import ops
    from poolcli.model.layout import Layout
    from poolcli.model.options import PoolOptions
    from poolcli.model.window import WindowSpec, resolve

    if os.environ.get("POOLCLI_COMPILE") == "0":
        return 0
    _state["warm"] = True
    memory.use_huge_pages()  # a process that warms up pools again and again
    ready = 0
    for reduction, dtype, layout_name, kernel, stride, out_dtype in cases:
        layout = Layout(layout_name)
        side = 16 if "D" in layout_name else 64  # small: the kernels take any size
        shape = tuple({"N": 1, "C": 3}.get(axis, side) for axis in layout_name)
        x = torch.zeros(shape, dtype=dtype)
        spec = WindowSpec.make(kernel_size=kernel, stride=stride)
        windows = resolve(spec, layout.spatial_shape(shape), layout.spatial)
        options = PoolOptions(dtype=out_dtype)
        with _forced():
            ops.pool_tensor(x, reduction, windows, layout, options=options)
        if _state["broken"] is not None:
            return 0
        ready += 1
    _state["warm"] = True if new_kernels else LOADED
    return ready


@contextlib.contextmanager
def _forced():
    """Compile whatever the size (the warm-up's inputs are small)."""
    _state["forced"] = True
    try:
        yield
    finally:
        _state["forced"] = False
