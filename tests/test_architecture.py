"""The simulation library stays headless: the import-linter contracts in pyproject.toml hold; and the
engine's core stays the floor alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_sim_never_imports_textual_or_the_console():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_importing_sim_loads_no_terminal_ui():
    code = "import sys, sim.cli, sim.scenario, sim.structure; print(any(m.startswith('textual') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_the_engine_core_stays_the_floor_alone():
    """``sim/engine/core.py`` keeps the event loop, in-trays, rota and dispatch (at most 500 lines): a
    rule belongs in ``sim.policies``, an observer in its own module."""
    lines = len((ROOT / "sim" / "engine" / "core.py").read_text(encoding="utf-8").splitlines())
    assert lines <= 500, f"sim/engine/core.py has {lines} lines"
