"""Shared test fixtures: a per-session kernel cache so builds are reused across tests."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AXSIM_CACHE", str(Path.home() / ".cache" / "axsim-tests"))
