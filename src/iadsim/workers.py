"""Worker processes (a run's blocks, a sweep's tasks): they leave Ctrl-C to their parent, die
with it, are stopped at once when it stops, and allocate block arrays without page faults."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_MMAP_THRESHOLD, _TRIM_THRESHOLD = -3, -1  # glibc's mallopt parameters
_tuned = False


def tune_allocator() -> None:
    """Keep the engine's block arrays (up to 32 MB each) in the heap instead of mapping them
    afresh every block, and return freed memory to the system beyond 128 MB only: a block
    then allocates without page faults. glibc only (Linux), once per process. This matters
    most in Dask workers, which start with MALLOC_TRIM_THRESHOLD_ set low: that fixes glibc's
    thresholds at their smallest and made a task 45% slower."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_TRIM_THRESHOLD, 128 << 20)


def quiet_worker() -> None:
    """In a worker: ignore Ctrl-C (the parent decides), and die with the parent (Linux:
    PR_SET_PDEATHSIG)."""
    import signal

    tune_allocator()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop(pool: ProcessPoolExecutor, running: Iterable[Future[Any]] = (),
         grace: float = 10.0) -> None:
    """Shut the pool down now: pending work cancelled, the tasks `running` given up to
    `grace` seconds to finish (a worker killed while it sends a result would leave half a
    message in the pool's result pipe, and the pool's manager thread, which the interpreter
    joins at exit, waiting on it for ever), then the workers terminated."""
    from concurrent.futures import wait

    from iadsim import interrupt

    processes = list(getattr(pool, "_processes", {}).values())  # no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    busy = [f for f in running if not f.done()]
    if busy:
        with interrupt.deferred(reraise=False):  # a second Ctrl-C does not cut this short
            wait(busy, timeout=grace)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
