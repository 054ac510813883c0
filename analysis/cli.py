"""`axsim stats`: parse and compare gem5-format stats files from either backend."""
from __future__ import annotations

import argparse
from pathlib import Path

from .stats_parser import compare, parse_stats


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="parse / compare gem5-format stats.txt files")
    actions = p.add_subparsers(dest="action", required=True)
    c = actions.add_parser("compare", help="ratios B/A of the key figures")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--stat", action="append", help="compare this stat too (repeatable)")
    c.set_defaults(func=cmd_compare)
    s = actions.add_parser("show", help="print every stat of a file (all dumps)")
    s.add_argument("file", type=Path)
    s.set_defaults(func=cmd_show)


def _resolve(path: Path) -> Path:
    return path / "stats.txt" if path.is_dir() else path


def cmd_compare(args: argparse.Namespace) -> int:
    from .stats_parser import KEY_FIGURES
    df = compare(_resolve(args.a), _resolve(args.b), KEY_FIGURES + (args.stat or []))
    print(df.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    print(parse_stats(_resolve(args.file)).to_string(index=False))
    return 0
