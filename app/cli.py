"""The ``semi-iin`` command line: corpus-scale extraction, training and evaluation.

Each sub-command lives in its own module under ``app.commands`` and exposes
``register(subparsers)``, which adds its parser and sets ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core_model.errors import SemiIINError

# Sub-command modules, in the order they appear in ``semi-iin --help``.
COMMAND_MODULES: tuple[str, ...] = ("recipe", "extract", "train", "self_train", "evaluate", "project")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semi-iin",
        description="Semi-IIN Studio command line: extract features, train, self-train and evaluate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{module_name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SemiIINError as exc:
        print(f"semi-iin {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"semi-iin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
