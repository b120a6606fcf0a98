"""``moodchords``: a thin command line over the library. User errors print one line and exit 2."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from importlib import metadata

from assistant.commands import COMMAND_MODULES
from assistant.errors import USER_ERRORS

EXIT_USAGE = 2


def version() -> str:
    try:
        return metadata.version("moodchords")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moodchords",
        description="Speak or type a mood; get a chord progression that fits, as sound and as MIDI.",
    )
    parser.add_argument("--version", action="version", version=f"moodchords {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"assistant.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Models come from installed packages; never reach for a hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from assistant.runtime import limit_malloc_arenas

    limit_malloc_arenas()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return int(handler(args) or 0)
    except USER_ERRORS as error:
        print(f"moodchords {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def print_warning(command: str, message: str, file=None) -> None:
    """One line on stderr, "moodchords COMMAND: warning: MESSAGE": how every command reports what
    it ignored or worked around (a request's out-of-range tempo, a skipped file)."""
    from tqdm import tqdm

    # tqdm.write: a progress bar on the terminal is cleared first and redrawn below the line
    tqdm.write(f"moodchords {command}: warning: {' '.join(str(message).split())}", file=file or sys.stderr)


def _one_line_warning(command: str):
    """A warnings.showwarning that prints what the library warns about (e.g. skipped files) as one
    line, "moodchords COMMAND: warning: ...", instead of Python's file, line number and source line."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print_warning(command, message, file)

    return show


if __name__ == "__main__":
    sys.exit(main())
