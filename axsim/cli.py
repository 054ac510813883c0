"""The single `axsim` command: one subcommand per job.

Each subcommand lives with the package that does the work; this module only wires them up.
A package's `cli.py` exposes `register(subparsers)`, which adds its parser(s) and sets `func` on
them. Only the module of the command being run is imported (so `axsim --help` and `axsim run`
import no torch or onnx); `axsim --help` lists the commands from the table below.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module whose register() adds it, one-line help), in the order of --help
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("sparce_jobs.run_cli", "simulate a kernel (SPARCE beside the baseline) or a static AArch64 ELF"),
    "sweep": ("sparce_jobs.run_cli", "baseline vs SPARCE over sparsities (Fig. 4.13 analog)"),
    "network": ("sparce_jobs.run_cli", "per-layer SPARCE on an ONNX CNN, im2col + sgemm (Figs. 4.10/4.12)"),
    "gem5": ("sparce_jobs.gem5_backend", "run a kernel on gem5 (SE, ArmMinorCPU + SPARCE unit)"),
    "compile": ("sparce_jobs.compile_cli", "SASA compiler: annotated AArch64 kernel -> SPARCE kernel"),
    "openblas": ("sparce_jobs.openblas_cli", "SPARCE libopenblas from OpenBLAS's own source (build)"),
    "stats": ("analysis.cli", "parse / compare gem5-format stats.txt files"),
    "compress": ("sw_models.compression.cli", "CSC / Smap / cSmap sparse formats (ch. 7)"),
    "empir": ("sw_models.empir.cli", "EMPIR: ensembles of mixed-precision models (ch. 8)"),
    "lstm": ("sw_models.axlstm.cli", "AxLSTM: timestep skipping and state reduction (ch. 5)"),
    "snn": ("sw_models.axsnn.cli", "AxSNN: approximate spiking neural networks (ch. 6)"),
}
_CLI_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def build_parser(command: str | None = None, all_commands: bool = True) -> argparse.ArgumentParser:
    """The parser with every command listed. Only `command`'s module is imported and registered;
    with no command, every module when all_commands (the tests), none otherwise (`--help`)."""
    parser = argparse.ArgumentParser(prog="axsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command in COMMANDS:
        modules = [COMMANDS[command][0]]
    else:
        modules = _CLI_MODULES if all_commands else []
    registered: set[str] = set()
    for name in modules:
        module = _import(name)
        if module is not None:
            module.register(sub)
            registered.update(sub.choices)
    for cmd, (_, text) in COMMANDS.items():
        if cmd not in registered:
            sub.add_parser(cmd, help=text, add_help=False)     # listed for --help only
    return parser


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # package not built yet
        raise


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command, all_commands=False).parse_args(argv)
    if not hasattr(args, "func"):
        print(f"axsim {args.command}: this command is not available in this installation", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as exc:
        print(f"axsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"axsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
