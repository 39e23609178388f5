"""Worker processes of a local pool (a run's blocks, a sweep's tasks): they leave Ctrl-C to
their parent, die with it, and are stopped at once when it stops."""

from __future__ import annotations

import contextlib
from concurrent.futures import ProcessPoolExecutor


def quiet_worker() -> None:
    """In a worker: ignore Ctrl-C (the parent decides), and die with the parent (Linux:
    PR_SET_PDEATHSIG)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: pending work cancelled, workers terminated, none waited on
    for longer than it takes them to exit."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
