"""Shared fixtures: paths, the CLI run in-process, built default districts (once per session)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario import load_scenario
from sim.structure import District, build_district

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``microgov ARGS`` in this process; return exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_microgov(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``microgov`` command in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


@pytest.fixture(scope="session")
def district_2020() -> District:
    return build_district(load_scenario(SCENARIOS / "haigang-2020.toml"))


@pytest.fixture(scope="session")
def district_2019() -> District:
    return build_district(load_scenario(SCENARIOS / "haigang-2019.toml"))


@dataclass
class LoggedRun:
    kpis: dict
    events: object  # pandas DataFrame
    path: Path
    district: District


def logged_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, days: float, sets: tuple[str, ...] = ()
) -> LoggedRun:
    from sim.engine import simulate
    from sim.eventlog import read_events

    scenario = load_scenario(SCENARIOS / name, list(sets))
    district = build_district(scenario)
    path = tmp_path_factory.mktemp("runs") / f"{name}.parquet"
    result = simulate(scenario, days=days, events=path, district=district)
    return LoggedRun(result.kpis, read_events(path), path, district)


@pytest.fixture(scope="session")
def run_2019_logged(tmp_path_factory: pytest.TempPathFactory) -> LoggedRun:
    """Two days of the 2019 district (long queues at the largest street), with its event log."""
    return logged_run(tmp_path_factory, "haigang-2019.toml", 2.0)


SMALL = (
    'name = "Small {staff}"\nseed = 4\n[staffing]\nper_office = {staff}\n'
    "[streets.S1]\nresidents = 40_000\n[streets.S2]\nresidents = 25_000\n[towns.T1]\nresidents = 6_000\n"
)


#: A one-hour training shift at S1 over a small scenario (``base``), for the tests that play one.
SMALL_TRAINING = """extends = "{base}"
name = "{name}"
[training]
post = "S1"
start = "day 1 09:00"
hours = 1.0
speed = 600.0
follow_up_days = 0.5
briefing = "Work the S1 queue."
"""


def small_training(base: str, name: str = "Small training") -> str:
    """The text of :data:`SMALL_TRAINING` over the scenario file ``base``."""
    return SMALL_TRAINING.format(base=base, name=name)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two small scenarios and a two-day event log written by ``microgov run``."""
    from sim.cli import main

    folder = tmp_path_factory.mktemp("console")
    low = folder / "small-low.toml"
    high = folder / "small-high.toml"
    low.write_text(SMALL.format(staff=4), encoding="utf-8")
    high.write_text(SMALL.format(staff=30), encoding="utf-8")
    log = folder / "two-days.parquet"
    with pytest.raises(SystemExit) as done:
        main(["run", str(low), "--days", "2", "--events", str(log), "--json"])
    assert done.value.code in (0, None) and log.is_file()
    return low, high, log


@pytest.fixture
def queue_db(small_world, tmp_path: Path) -> Path:
    """A queue store with the small district and four requests: three at S1, one at S2."""
    return fill_queue(small_world[0], tmp_path / "queue.db")


#: Accounts the console tests play besides the one running them (granted the whole district).
OTHER_ACCOUNTS = ("ann", "bob", "wu")


def fill_queue(scenario_path: Path, path: Path) -> Path:
    from sim.operations.identity import current_account
    from sim.operations.store import NewRequest, Store, load_district

    scenario = load_scenario(scenario_path)
    me = current_account()
    with Store(path) as store:
        load_district(store, scenario, build_district(scenario), account=me)
        for account in OTHER_ACCOUNTS:
            store.grant(me, account, "district")
        store.add(
            [
                NewRequest("csv", "1", "2030-01-01T08:00:00", "street_light", "ordinary", "S1/C1", "S1/C1",
                           "2030-01-02T08:00:00", "2030-01-08T08:00:00", "street light out"),
                NewRequest("csv", "2", "2030-01-01T08:05:00", "lost_elderly", "special", "S1", "S1",
                           "2030-01-01T08:35:00", "2030-01-02T08:05:00", "grandfather missing"),
                NewRequest("csv", "3", "2030-01-01T08:10:00", "drain_sewage", "urgent", "S1/C1/G1", "S1/C1/G1",
                           "2030-01-01T10:10:00", "2030-01-04T08:10:00", "drain blocked"),
                NewRequest("csv", "4", "2030-01-01T08:10:00", "noise", "ordinary", "S2", "S2",
                           "2030-01-02T08:10:00", "2030-01-08T08:10:00", "music at night"),
            ]
        )  # fmt: skip
    return path
