"""The `iadsim` program's entry point, kept light: Ctrl-C and SIGTERM are handled before the
heavy imports start, so an interrupt at any moment ends with status 130 and no traceback."""

from __future__ import annotations

import os
import sys

# The program does no linear algebra and runs in parallel by processes (--workers): OpenBLAS's
# threads, which NumPy starts on import and which spin on every core while idle, would only
# burn CPU (a third of `iadsim validate`'s). A value the user set is kept; a program or notebook
# that imports iadsim as a library keeps its own setting.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def entry() -> None:
    """Run the command line; SIGTERM stops a command as Ctrl-C does (finished work kept)."""
    import warnings

    from iadsim import interrupt
    from iadsim.workers import tune_allocator

    interrupt.install()
    tune_allocator()
    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's arithmetic notes are not for users
    try:
        import iadsim.cli

        iadsim.cli.AS_PROGRAM = True
        iadsim.cli.app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # what any command may meet: a scenario beyond the machine
        from iadsim.engine import MemoryBudgetError

        if not isinstance(exc, MemoryBudgetError):
            raise
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    entry()
