"""The `iadsim` program's entry point, kept light: Ctrl-C and SIGTERM are handled before the
heavy imports start, so an interrupt at any moment ends with status 130 and no traceback."""

from __future__ import annotations

import sys


def entry() -> None:
    """Run the command line; SIGTERM stops a command as Ctrl-C does (finished work kept)."""
    from iadsim import interrupt

    interrupt.install()
    try:
        from iadsim.cli import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    entry()
