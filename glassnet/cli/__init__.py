"""The ``glassnet`` command line.

Exit codes: 0 success, 1 failure during work, 2 bad usage or bad input, 130 interrupted (Ctrl-C).
Errors are one line on stderr (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..exceptions import TrainingInterrupted

#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


class UsageError(Exception):
    """Bad input or usage: reported on one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="Deep feed-forward neural networks you can see through.",
        epilog="Examples:\n  glassnet demo\n  glassnet demo --epochs 20 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    from . import demo, models, predict, train

    train.add_parser(commands)
    predict.add_predict(commands)
    predict.add_evaluate(commands)
    models.add_inspect(commands)
    models.add_report(commands)
    models.add_export(commands)
    demo.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"glassnet: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        if args.debug:
            raise
        hint = (
            str(exc)
            if "pip install" in str(exc)
            # the extra named where it was raised
            else (f"{exc.name or exc} is needed for this command; install it with pip install 'glassnet[app]'")
        )
        print(f"glassnet: error: {hint}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"glassnet: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except TrainingInterrupted as exc:
        if exc.checkpoint is not None:
            how = f"run the same command with --resume to continue from {exc.checkpoint}."
        else:
            how = "nothing was saved; pass --checkpoint FILE to be able to resume an interrupted run."
        message = str(exc).replace("training was interrupted", "interrupted").split(";")[0]
        print(f"glassnet: {message}; {how}", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("glassnet: interrupted; nothing was written.", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # anything else is a failure during work, still without traceback
        if args.debug:
            raise
        print(f"glassnet: failed: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def run() -> None:
    """The ``glassnet`` command: :func:`main`, then exit with its status.

    After an interrupt has been reported, further Ctrl-C presses are ignored while the process ends:
    a second press right after the first used to land in Python's shutdown (a ``KeyboardInterrupt``
    traceback from joining threads) or to end the process by the signal (status -2 instead of 130).
    """
    code = main()
    if code == INTERRUPTED:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
