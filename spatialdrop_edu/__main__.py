"""Command line of the course: ``python -m spatialdrop_edu COMMAND ...``.

Commands:
    execute NOTEBOOK...   re-execute notebooks in place (fresh kernel, widget state stored)
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spatialdrop_edu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    execute = commands.add_parser("execute", help="re-execute notebooks in place, storing outputs and widget state")
    execute.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help=".ipynb files")
    execute.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default: 600)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "execute":
        from .notebooks import execute_in_place

        execute_in_place(args.notebooks, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
