"""Running tasks here or on Dask: ``threads``, ``processes`` or a distributed scheduler
(``tcp://HOST:PORT``), a bounded number in flight, results handed back in completion order.

Dask is imported only when a scheduler is asked for. Worker processes import torch once
and keep it (and the opened input) for every task they run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from poolcli.errors import UsageError

SCHEDULERS = ("threads", "processes")


def check_scheduler(scheduler: str | None) -> str | None:
    """Refuse a ``--scheduler`` that is neither ``threads``, ``processes`` nor an address."""
    if scheduler is None or scheduler in ("sync", "none"):
        return None
    if scheduler in SCHEDULERS or "://" in scheduler:
        return scheduler
    raise UsageError(
        f"--scheduler {scheduler} is not a scheduler: use threads, processes or the address of "
        "a Dask scheduler such as tcp://127.0.0.1:8786.",
        option="--scheduler",
    )


def check_reachable(scheduler: str | None) -> None:
    """Refuse a ``tcp://`` scheduler that does not answer, before any work (like a missing
    device: the call cannot be run here)."""
    if scheduler is None or "://" not in scheduler:
        return
    _connect(scheduler).close()


def _connect(address: str):
    from poolcli.io.lazy import need

    need("distributed", f"--scheduler {address}")
    from distributed import Client

    try:
        return Client(address, timeout="5s", set_as_default=False)
    except OSError as error:
        raise UsageError(
            f"--scheduler {address}: no Dask scheduler answers there ({error}).",
            option="--scheduler",
        ) from None


def _dask(what: str):
    from poolcli.io.lazy import need

    need("dask", what)
    import dask

    return dask


def run_tasks(
    fn: Callable, calls: Sequence[tuple], scheduler: str | None, done: Callable[[object], None]
) -> None:
    """Run ``fn(*args)`` for each of ``calls``; ``done(result)`` as each one finishes."""
    scheduler = check_scheduler(scheduler)
    if not calls:
        return
    if scheduler is None:
        for args in calls:
            done(fn(*args))
        return
    if "://" in scheduler:
        _run_distributed(fn, calls, scheduler, done)
    else:
        _run_local(fn, calls, scheduler, done)


def in_flight() -> int:
    """Tasks a local scheduler runs at once (one per core)."""
    return os.cpu_count() or 1


def memory_share(scheduler: str | None) -> int:
    """How many tasks share ``--max-memory`` in this process: one per core on a local pool
    (each block then gets its part), one otherwise (a cluster's tasks run in the workers'
    own memory, each within the budget)."""
    scheduler = check_scheduler(scheduler)
    return in_flight() if scheduler in SCHEDULERS else 1


def _run_local(fn, calls, scheduler, done) -> None:
    """Dask's local threads or processes, a batch of tasks at a time (bounded memory)."""
    dask = _dask(f"--scheduler {scheduler}")
    pool = None
    kwargs = {"scheduler": scheduler, "num_workers": in_flight()}
    if scheduler == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # One pool for the whole run: each worker imports torch once.
        pool = ProcessPoolExecutor(in_flight(), mp_context=multiprocessing.get_context("spawn"))
        kwargs["pool"] = pool
    try:
        step = in_flight()
        for start in range(0, len(calls), step):
            tasks = [dask.delayed(fn, pure=False)(*args) for args in calls[start : start + step]]
            for result in dask.compute(*tasks, **kwargs):
                done(result)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _run_distributed(fn, calls, address, done) -> None:
    """A running Dask distributed scheduler: a bounded number of tasks submitted at a time."""
    from distributed import as_completed

    client = _connect(address)
    try:
        pending = iter(calls)
        limit = max(2, 2 * sum(client.nthreads().values()))
        first = [client.submit(fn, *args, pure=False) for _, args in zip(range(limit), pending)]
        futures = as_completed(first, loop=client.loop)
        for future in futures:
            done(future.result())
            following = next(pending, None)
            if following is not None:
                futures.add(client.submit(fn, *following, pure=False))
    finally:
        client.close()
