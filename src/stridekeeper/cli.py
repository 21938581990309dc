"""The ``stridekeeper`` command line: a thin door on the public API.

Exit status: 0 on success, 1 when some input failed (each failure is named on stderr in
one line), 2 on usage errors. User input never produces a traceback (``-v`` shows one for
unexpected internal errors).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from .commands.output import INSPECT_KEYS

log = logging.getLogger("stridekeeper")

#: The commands' linear algebra is on small matrices (thousands of rows, a dozen columns),
#: where BLAS threads only wait on each other and on the import workers: on a busy 2-core
#: machine a 2,000 x 12 QR took 0.34 s with OpenBLAS's threads and 3 ms with one. One thread
#: each unless the user says otherwise (set before numpy is first imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
#: Arrow's buffers from the C library's allocator unless the user says otherwise (read
#: when pyarrow is first imported). pyarrow's default, mimalloc, takes fresh 2 MiB huge
#: pages that the kernel zeroes on first touch: 7.6 % of an import's CPU; with malloc the
#: freed buffers are reused (paired: import 200 simulated runs 4 % faster, the real mix
#: 14 %, a quarter less peak memory).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

__all__ = ["COMMAND_MODULES", "INSPECT_KEYS", "build_parser", "console", "main"]

#: The commands, one module each under ``stridekeeper.commands``, in the order ``--help``
#: lists them: each defines ``register(subparsers)`` that adds its parser with
#: ``set_defaults(func=...)``. Those modules import nothing heavy at module level, so
#: ``--help`` stays fast; what they print is shaped in ``stridekeeper.commands.output``.
COMMAND_MODULES: tuple[str, ...] = (
    "inspect",
    "mobility",
    "demo",
    "library",
    "analyze",
    "power",
    "report",
    "experiment",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="stridekeeper",
        description="Does my mobility work keep my stride from falling apart late in my runs?",
    )
    parser.add_argument("--version", action="version", version=f"stridekeeper {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more detail on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name in COMMAND_MODULES:
        import_module(f"stridekeeper.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stridekeeper`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from .errors import StridekeeperError

        if args.verbose:
            raise
        if isinstance(exc, StridekeeperError):
            print(f"error: {exc}", file=sys.stderr)
        else:
            print(f"error: internal error ({type(exc).__name__}: {exc}); rerun with -v for "
                  "details and please report it", file=sys.stderr)  # fmt: skip
        return 1


def console() -> NoReturn:
    """The installed ``stridekeeper`` command: :func:`main`, then a quick exit.

    Once a command has finished and its output is flushed, tearing the interpreter down
    (freeing pandas', pyarrow's and numpy's modules and every object) only costs time:
    ~70 ms after an import, 6 % of importing 200 one-hour runs. Files are closed by the
    commands themselves, and atexit handlers still run; only that teardown is skipped.
    The cyclic garbage collector runs less often than in a long-lived process (see below).
    """
    # A command is short-lived and its imports (pandas, pyarrow, matplotlib) leave a few
    # hundred thousand long-lived objects: with the default thresholds the cyclic
    # collector ran every 700 allocations and went through all of them again and again
    # (paired: report at 200 runs and import of 200 runs ~5 % faster with these)
    gc.set_threshold(100_000, 50, 100)
    code = main()
    import atexit

    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing left to say
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
