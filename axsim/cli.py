"""The single `axsim` command: one subcommand per job.

Each subcommand lives with the package that does the work; this module only wires them up.
A package's `cli.py` exposes `register(subparsers)`, which adds its parser(s) and sets
`func` on them. Packages are imported lazily so a broken optional model never blocks the engine.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# module path of each package's cli module, in the order they appear in --help
_CLI_MODULES = [
    "sparce_sim.cli",        # run, sweep, network
    "sparce_sim.gem5_backend",  # gem5
    "sasa_compiler.cli",     # compile
    "analysis.cli",          # stats
    "sw_models.compression.cli",  # compress
    "sw_models.empir.cli",   # empir
    "sw_models.axlstm.cli",  # lstm
]


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="axsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # package not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as exc:
        print(f"axsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
