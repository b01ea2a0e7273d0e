"""Draw the plots the README shows (``docs/img/*.png``), with the commands the README shows.

    .venv/bin/python docs/make_images.py            # about four minutes on two cores

``microgov compare`` of the 2019 and 2020 districts and ``microgov sweep`` of the 2020 district over the
staff per office and the grid mode (a few short replications each, seed 0), then a training shift on
``scenarios/training/weekday-morning.toml`` played by a scripted trainee: it takes up every request that
reaches the desk and passes it to the department it needs or settles it, but lets ordinary requests wait
half an hour and one urgent request in three past its deadline, sends one in five that need a department
to the wrong one and settles one in seven itself, so the timeline has right and wrong decisions, late
answers and the scripted incidents. The same inputs draw the same plots.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "img"
COMPARE = ["scenarios/haigang-2019.toml", "scenarios/haigang-2020.toml", "--reps", "4", "--days", "3"]
SWEEP = [
    "scenarios/haigang-2020.toml",
    *("--vary", "staffing.per_office=11,30,50", "--vary", "grids.mode=merged,separate"),
    *("--reps", "3", "--days", "2"),
]
SHIFT = ROOT / "scenarios" / "training" / "weekday-morning.toml"
TRAINEE = "demo"


def microgov(*args: str) -> None:
    from sim.cli import main

    print("microgov", *args, flush=True)
    try:
        main(list(args))
    except SystemExit as done:
        if done.code not in (0, None):
            raise


def play_shift(folder: Path) -> Path:
    """A shift with a scripted trainee; returns the timeline it left."""
    from sim.operations.store import Refused, Store
    from sim.scenario import load_scenario
    from sim.training.shift import LiveShift

    with Store(folder / "training.db") as store:
        live = LiveShift.begin(store, load_scenario(SHIFT), TRAINEE, scenario_path=SHIFT)
        departments = [row["id"] for row in store.departments()]
        post, source = live.shift.post, live.shift.source
        seen: dict[int, float] = {}
        while not live.at_end:
            live.tick(60.0 / live.speed)  # a simulated minute
            for request in store.queue(post, source=source):
                first = seen.setdefault(request.id, live.clock_h)
                wait_h = {"special": 0.05, "urgent": 2.2 if request.id % 3 == 0 else 0.2}.get(request.priority, 0.6)
                if live.clock_h - first < wait_h:
                    continue
                needed = [d for d in departments if d in request.needs]
                wrong = [d for d in departments if d not in needed]
                try:
                    if needed and request.id % 5 == 2:  # the wrong department
                        live.act(TRAINEE, "pass", request.id, to=wrong[request.id % len(wrong)])
                    elif needed and request.id % 7 != 3:  # (else: settled, though it needed a department)
                        live.act(TRAINEE, "pass", request.id, to=needed[0])
                    else:
                        live.act(TRAINEE, "settle", request.id, note="settled on the phone")
                except Refused:
                    continue
        result = live.finish(folder / "report")
    return Path(result["timeline"])


def main() -> None:
    os.chdir(ROOT)  # the commands name the scenarios as the README does
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        microgov("compare", *COMPARE, "--out", str(out / "compare"))
        microgov("sweep", *SWEEP, "--out", str(out / "sweep"))
        drawn = [out / "compare" / name for name in ("backlog.png", "resolution_time.png", "kpis.png")]
        drawn += sorted((out / "sweep").glob("sweep_*.png"))
        drawn.append(play_shift(out))
        for png in drawn:
            shutil.copyfile(png, IMAGES / png.name)
            print("wrote", (IMAGES / png.name).relative_to(ROOT))


if __name__ == "__main__":
    main()
