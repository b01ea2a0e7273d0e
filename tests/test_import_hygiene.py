"""What each entry point loads: a fresh interpreter per check, its ``sys.modules`` read after the import.

The import contracts in pyproject.toml check the imports written in the code; these check what a user
pays at run time (a notebook importing the engine, an operator's store on a machine without the
simulation's heavy parts, ``microgov --help`` answering at once), including what third-party packages
pull in behind our back.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

#: Prints, as JSON, every module loaded after running the code before it.
REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)))"

#: Runs ``microgov --help`` in-process (its help text swallowed), then reports.
HELP = (
    "import contextlib, io, sys\n"
    "from sim.cli import main\n"
    "sys.argv = ['microgov', '--help']\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        main()\n"
    "    except SystemExit as stop:\n"
    "        assert stop.code == 0, stop.code\n"
)

#: Heavy or optional packages, and our own packages that an entry point below them must not pull in.
TERMINAL_UI = ["textual", "textual_plotext", "console.app", "console.screens"]
PLOTS_AND_CLUSTER = ["matplotlib", "dask", "distributed"]
SERVICE = ["fastapi", "uvicorn", "starlette"]
FRAMES = ["pandas", "scipy"]


def loaded(code: str) -> list[str]:
    """Every module a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def found(modules: list[str], names: list[str]) -> list[str]:
    """Those of ``names`` loaded, as a package or any module in it."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_the_probe_sees_what_an_import_loads():
    # Guards the checks below: an event-log summary does read with pandas, and the probe must say so.
    modules = loaded("import sim.analysis.logstats")
    assert found(modules, ["pandas", "pyarrow", "sim.eventlog"]) == ["pandas", "pyarrow", "sim.eventlog"]


def test_importing_sim_loads_nothing_else():
    modules = loaded("import sim")
    assert [m for m in modules if m.startswith("sim.")] == []
    heavy = ["numpy", "pydantic", "networkx", "simpy", "typer", "rich", "pyarrow", *FRAMES, *PLOTS_AND_CLUSTER]
    assert found(modules, heavy + TERMINAL_UI) == []


def test_the_engine_loads_no_ui_plots_cluster_service_frames_or_store():
    modules = loaded("import sim.engine")
    assert found(modules, ["simpy", "sim.engine.core"]) == ["simpy", "sim.engine.core"]
    unwanted = [*TERMINAL_UI, *PLOTS_AND_CLUSTER, *SERVICE, *FRAMES, "sqlite3", "sim.operations"]
    assert found(modules, unwanted) == []
    above = ["sim.training", "sim.experiment", "sim.analysis", "sim.cli", "console"]
    assert found(modules, above) == []


def test_the_store_loads_no_simulation():
    modules = loaded("import sim.operations.store")
    assert found(modules, ["sqlite3"]) == ["sqlite3"]
    unwanted = ["simpy", "sim.engine", "sim.training", "sim.experiment", "sim.analysis", "pyarrow", *FRAMES]
    assert found(modules, unwanted + PLOTS_AND_CLUSTER + TERMINAL_UI + SERVICE) == []


def test_the_harness_loads_its_heavy_parts_only_when_used():
    modules = loaded("import sim.experiment")
    assert found(modules, ["sim.engine", "pyarrow", *FRAMES, *PLOTS_AND_CLUSTER]) == []


@pytest.mark.parametrize("code", ["import sim.cli", HELP], ids=["import sim.cli", "microgov --help"])
def test_the_command_line_starts_without_plots_cluster_frames_or_the_engine(code):
    modules = loaded(code)
    unwanted = [*PLOTS_AND_CLUSTER, *FRAMES, *TERMINAL_UI, *SERVICE, "pyarrow", "simpy", "sqlite3", "sim.engine"]
    assert found(modules, unwanted) == []
