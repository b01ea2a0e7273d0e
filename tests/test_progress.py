"""Progress on long work: a staffing answer counts on across its steps instead of starting again, and a
training shift names each slow step of starting and scoring it without changing what it computes."""

from __future__ import annotations

from pathlib import Path

from sim.analysis.staffing import ServiceTarget, StageProgress, staff_answer
from sim.operations.store import Store
from sim.scenario import load_scenario
from sim.structure import build_district
from sim.training.shift import LiveShift, advance, new_engine
from tests.conftest import SMALL, small_training


def test_stage_progress_counts_on_across_steps():
    seen: list[tuple[str, float, float]] = []
    steps = StageProgress(lambda step, done, total: seen.append((step, done, total)))
    steps.pilot(0.5)
    steps.pilot(1.0)
    first = steps.step("round 1")
    assert first is not None
    for done in range(1, 5):
        first(done, 4)
    second = steps.step("round 2")
    assert second is not None
    second(1, 2)
    second(2, 2)
    assert [done for _, done, _ in seen] == [0.5, 1.0, 2, 3, 4, 5, 6, 7]
    assert [total for _, _, total in seen] == [1.0, 1.0, 5, 5, 5, 5, 7, 7]
    assert seen[-1][0] == "round 2"
    assert StageProgress(None).step("x") is None


def test_staffing_answer_progress_never_goes_back(tmp_path: Path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(staff=4), encoding="utf-8")
    seen: list[tuple[str, float, float]] = []
    staff_answer(
        load_scenario(path),
        ServiceTarget.parse("all.wait<=1h@0.9"),
        pool=30,
        reps=2,
        days=1.0,
        progress=lambda step, done, total: seen.append((step, done, total)),
    )
    done = [d for _, d, _ in seen]
    totals = [t for _, _, t in seen]
    assert done == sorted(done) and totals == sorted(totals)
    assert seen[0][0].startswith("pilot") and seen[-1][0] == "simulating the three splits"
    assert done[-1] == totals[-1] == 1 + 3 * 2  # the pilot, then three splits of two replications


def test_advancing_in_steps_is_advancing_at_once(tmp_path: Path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL.format(staff=4), encoding="utf-8")
    scenario = load_scenario(path)
    district = build_district(scenario)
    whole, stepped = (new_engine(scenario, district, 7, 30.0) for _ in range(2))
    for engine in (whole, stepped):
        engine.start()
    whole.advance(30.0)
    told: list[float | None] = []
    advance(stepped, 30.0, lambda label, fraction: told.append(fraction), "running")
    assert told == [i / 20 for i in range(1, 21)]
    assert whole.env.now == stepped.env.now
    assert whole.entry.next_id == stepped.entry.next_id > 0  # the same requests raised
    # every request still open is at the same post in the same state
    assert whole.live and {i: (r.post.node if r.post else None, r.state) for i, r in whole.live.items()} == {
        i: (r.post.node if r.post else None, r.state) for i, r in stepped.live.items()
    }


def test_a_shift_names_its_slow_steps(tmp_path: Path):
    base = tmp_path / "small.toml"
    base.write_text(SMALL.format(staff=4), encoding="utf-8")
    training = tmp_path / "training.toml"
    training.write_text(small_training(base.name), encoding="utf-8")
    scenario = load_scenario(training)
    starting: list[str] = []
    finishing: list[str] = []
    with Store(tmp_path / "training.db") as store:
        live = LiveShift.begin(store, scenario, "ann", progress=lambda label, fraction: starting.append(label))
        live.tick(0.0)
        result = live.finish(tmp_path / "report", progress=lambda label, fraction: finishing.append(label))
    assert list(dict.fromkeys(starting)) == [
        "building the district",
        f"loading the district's {build_district(scenario).graph.number_of_nodes():,} posts into the store",
        "running the district up to Mon 09:00",
    ]
    assert list(dict.fromkeys(finishing)) == [
        "following the district 0.5 days on",
        "the engine's own policy: up to the shift",
        "the engine's own policy: the shift and after",
        "scoring and writing the report",
    ]
    assert result["score"]["total"] >= 0 and Path(result["timeline"]).is_file()
