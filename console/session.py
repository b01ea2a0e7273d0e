"""What the console is working on: the scenario, its district, the last run's statistics, the replay.

Screens share one session. Everything slow here (building the district, running the scenario, reading
an event log) is called from worker threads; nothing here touches the screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_cache_dir

from console.i18n import Words
from sim.errors import MicrogovError
from sim.operations.identity import current_account
from sim.scenario import Scenario, load_scenario
from sim.structure import District


class ConsoleError(MicrogovError):
    """The console cannot do what was asked (no scenario, a log that does not fit the scenario)."""


def prepare_workers() -> None:
    """Start the process server that comparisons fork their workers from, while this process still has
    its own standard streams: once the console has taken over the terminal, starting it fails."""
    import multiprocessing
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.experiment.replicate"])
    forkserver.ensure_running()


@dataclass
class Session:
    words: Words
    scenario_path: Path | None = None
    events_path: Path | None = None
    db_path: Path | None = None
    """The queue store: Operate's (default: queue.db in the user data folder) or Train's (training.db)."""
    post: str | None = None
    account: str = field(default_factory=current_account)
    """Who acts in Operate and Train: the account the console runs as (tests play others)."""
    trainee: str = ""
    """The trainee's name in a shift's report (default: the account's display name)."""
    train_file: Path | None = None
    train_sets: list[str] = field(default_factory=list)
    train_post: str | None = None
    """The post to play the shift at instead of the scenario's (``train --as``)."""
    scenario: Scenario | None = None
    district: District | None = None
    stats: object | None = None
    stats_source: str = ""
    replay: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self) -> None:
        """Read the scenario (from its file, or from the event log's metadata)."""
        if self.scenario_path is not None:
            self.scenario = load_scenario(self.scenario_path)
        elif self.events_path is not None:
            from sim.eventlog import read_metadata

            doc = read_metadata(self.events_path).get("scenario_doc")
            if not doc:
                raise ConsoleError(f"{self.events_path}: the log does not carry its scenario; give the scenario file")
            self.scenario = Scenario.model_validate(doc)
        else:
            raise ConsoleError("no scenario: give a scenario file (microgov console scenarios/haigang-2020.toml)")

    @property
    def name(self) -> str:
        return self.scenario.name if self.scenario else "microgov"

    def ensure_district(self) -> District:
        with self._lock:
            if self.district is None:
                from sim.structure import build_district

                assert self.scenario is not None
                self.district = build_district(self.scenario)
            return self.district

    def load_stats(self, path: Path) -> object:
        from sim.analysis.logstats import RunStats

        stats = RunStats(path, self.ensure_district())
        self.stats, self.stats_source = stats, str(path)
        return stats

    def run_for_stats(self, days: float, progress: Callable[[float], None] | None = None) -> Path:
        """Run the scenario for ``days`` with an event log in the cache folder; the log feeds both the
        structure's load and backlog and the Replay mode."""
        from sim.engine import simulate

        assert self.scenario is not None
        folder = Path(user_cache_dir("microgov")) / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        slug = "".join(ch if ch.isalnum() else "-" for ch in self.scenario.name.lower())
        path = folder / f"{slug}-{days:g}d-seed{self.scenario.seed}.parquet"
        simulate(self.scenario, days=days, events=path, district=self.ensure_district(), progress=progress)
        self.events_path = path
        return path

    def store_path(self, mode: str) -> Path:
        from sim.operations.store import default_path

        return self.db_path or default_path("training.db" if mode == "train" else "queue.db")

    def open_replay(self, path: Path) -> object:
        from sim.analysis.replay import ReplayIndex

        index = ReplayIndex(path)
        self.replay, self.events_path = index, path
        return index
