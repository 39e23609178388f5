"""Stop requests (Ctrl-C, SIGTERM) that are not lost.

Python delivers a signal as an exception wherever the main thread is; inside a callback from
compiled code (Numba loading its cache, for one) that exception is dropped or turned into a
SystemError. So the fast engine holds signals while it computes a block (`deferred`) and acts on
them after it; and the `iadsim` program installs `request` for SIGINT and SIGTERM, which raises
KeyboardInterrupt as usual and also records the request, which long loops `check` between
blocks of work. A request lasts until the operation it stopped ends (`operation`): a run that
follows one stopped by Ctrl-C, in the same notebook, is not stopped by it."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

_requested = False
P = ParamSpec("P")
R = TypeVar("R")


def request(signum: int, frame: Any) -> None:
    """The signal handler: remember the request, and interrupt now."""
    global _requested
    _requested = True
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested (and its exception got lost)."""
    if _requested:
        raise KeyboardInterrupt


def operation(work: Callable[P, R]) -> Callable[P, R]:
    """Mark a long operation that acts on stop requests (`check`): whichever way it ends, the
    requests made during it were for it, and do not stop the next one."""
    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        global _requested
        try:
            return work(*args, **kwargs)
        finally:
            _requested = False

    return run


def install() -> None:
    """Handle SIGINT and SIGTERM with `request` (main thread only); an interrupt that Python
    cannot raise (in a callback) is not printed as a traceback: `check` acts on it."""
    signal.signal(signal.SIGINT, request)
    signal.signal(signal.SIGTERM, request)
    previous = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)

    sys.unraisablehook = quiet


@contextlib.contextmanager
def deferred(reraise: bool = True) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM, where Python handles them, while a few steps that must happen
    together run (a block counted in the summary and queued for writing), then act on them: raise
    KeyboardInterrupt, or with `reraise` False only record the request (the caller is
    already stopping, or finishing its last writes). Outside the main thread signals cannot be
    held: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)
                if callable(signal.getsignal(s))}  # only what Python would raise: a signal
    # ignored stays ignored, and one left to the system (a worker's SIGTERM) still ends it
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if held and reraise:  # raised here, in Python code: it cannot be lost, nothing to record
        raise KeyboardInterrupt
    if held:
        global _requested
        _requested = True


@contextlib.contextmanager
def ignored() -> Iterator[None]:
    """Ctrl-C ignored for the moment, so that processes started now (workers) inherit it
    ignored; in the main thread only (elsewhere it cannot be changed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
