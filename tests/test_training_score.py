"""Training scores that measure the trainee: every action logged before the shift ends counts (those
taken with the clock paused at the end too), a request the trainee never touched is a miss whatever the
follow-up does with it, the scripted trainees (idle scores under half the engine's on every shipped
training scenario; the engine autopilot scores the yardstick's), and a shift played at another post
(``--as``) takes its scripted incidents along or is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.engine.watch import Decision, DeskRecord
from sim.operations.store import STATUSES, Store
from sim.scenario import load_scenario
from sim.scenario.schema import ScoringSpec
from sim.structure import build_district
from sim.training.autopilot import play
from sim.training.scoring import score
from sim.training.shift import LiveShift, ShiftError, briefing, play_at
from tests.conftest import SCENARIOS
from tests.conftest import small_training as training_text

TRAINING = sorted((SCENARIOS / "training").glob("*.toml"))
INJECTS = """
[[injects]]
at = "day 1 09:10"
node = "S1"
category = "lost_elderly"
priority = "special"
text = "My grandmother went to the market and is not back."

[[injects]]
at = "day 1 09:20"
node = "S1/C2"
category = "neighbour_dispute"
text = "Two neighbours are shouting in the stairwell."

[[injects]]
at = "day 1 09:30"
node = "S2/C1"
category = "drain_sewage"
text = "A blocked drain in the next street."
"""


def small_training(small_world: Any, folder: Path) -> Path:
    path = folder / "small-training.toml"
    path.write_text(training_text(small_world[0].as_posix(), "Small training at S1") + INJECTS, encoding="utf-8")
    return path


# --- the rules, on a desk whose right answers are known ----------------------------------------------------


def record(key: int, **fields: Any) -> DeskRecord:
    """A request that reached the desk at 1.0 (response due 3.0, resolution due 30.0)."""
    return DeskRecord(key, 0, 1, 1.0, 3.0, 30.0, False, **fields)


def test_a_request_the_trainee_never_touched_is_a_miss_whatever_the_follow_up_did() -> None:
    desk = {
        # passed on by the trainee at 1.5, answered then, fixed by the department at 10.0: credited
        1: record(1, responded=1.5, answered_here=True, closed=10.0, fixed=True),
        # never touched: the post's staff answered it at 2.5 and fixed it at 12.0, after the shift (ended 2.0)
        2: record(2, responded=2.5, closed=12.0, fixed=True),
        # claimed by the trainee at 1.2 (answered), nothing decided: the staff fixed it after the shift
        3: record(3, responded=1.2, answered_here=True, closed=11.0, fixed=True),
        # escalated by the trainee at 1.8 and answered above at 2.9, within its deadline: credited
        4: record(4, responded=2.9, closed=20.0, fixed=True),
    }
    decisions = [Decision(1, 1.5, "pass", True, person=True), Decision(4, 1.8, "escalate", True, person=True)]
    judged = score(desk, decisions, ScoringSpec(), shift_end_h=2.0, end_h=200.0)
    response, resolution = judged.part("response"), judged.part("resolution")
    assert (response.right, response.judged, response.untouched) == (3, 4, 1)  # 1, 3, 4; 2 untouched
    assert (resolution.right, resolution.judged, resolution.untouched) == (2, 4, 2)  # 1, 4; 2 and 3 undecided
    # the same desk with nothing done: every request a miss on response and resolution
    idle = score({k: record(k, responded=2.5, closed=12.0, fixed=True) for k in desk}, [], ScoringSpec(), 2.0, 200.0)
    assert (idle.part("response").right, idle.part("resolution").right) == (0, 0)
    assert idle.part("routing").judged == 4 and idle.part("routing").right == 0


def test_a_decision_taken_at_the_very_end_of_the_shift_counts() -> None:
    desk = {1: record(1, responded=2.0, answered_here=True, closed=2.0, fixed=True)}
    at_end = [Decision(1, 2.0, "settle", True, person=True)]
    judged = score(desk, at_end, ScoringSpec(), shift_end_h=2.0, end_h=200.0)
    assert [(p.right, p.judged) for p in judged.parts[:3]] == [(1, 1), (1, 1), (1, 1)]


def test_actions_taken_while_paused_before_finishing_count(small_world: Any, tmp_path: Path) -> None:
    """The trainee pauses, decides every request in the queue, and finishes: nothing is left at the desk,
    and the report's action table and the score agree."""
    scenario = load_scenario(small_training(small_world, tmp_path))
    store = Store(tmp_path / "paused.db")
    live = LiveShift.begin(store, scenario, "ann", district=build_district(scenario))
    while len(store.queue("S1", source=live.shift.source)) < 3 and not live.at_end:
        live.tick(1.0)
    live.pause(True)
    live.tick(1.0)  # paused: the clock stays
    queue = store.queue("S1", source=live.shift.source)
    assert len(queue) >= 3 and not live.at_end
    taken = 0
    for request in queue:
        chosen = live.policy(request)
        assert chosen is not None
        action, targets = chosen
        to = targets[0] if action == "pass" else targets if action == "whistle" else None
        live.act("ann", action, request.id, note="sorted out", to=to)
        taken += action in ("settle", "pass", "return")
    result = live.finish(tmp_path / "report")
    assert result["ended_early"]
    routing = result["score"]["parts"]["routing"]
    assert routing["untouched"] == 0 and routing["judged"] == taken == routing["right"]
    assert result["score"]["parts"]["response"]["untouched"] == 0
    assert not any("left at the desk" in lesson for lesson in result["lessons"])
    rows = [
        line for line in Path(result["report"]).read_text(encoding="utf-8").splitlines() if "| sorted out |" in line
    ]
    assert len(rows) == len(queue) and all(row.rstrip(" |").endswith("right") for row in rows)
    store.close()


# --- the scripted trainees on the shipped training scenarios --------------------------------------------------


@pytest.mark.slow
def test_train_autopilot_prints_the_score_as_json_and_leaves_no_store(cli: Any, tmp_path: Path, monkeypatch) -> None:
    """The weekday-morning shift as shipped (its outcomes followed one day instead of seven, for time):
    the idle trainee scores under half of the engine autopilot, which scores within 5 points of the
    engine's own run (the yardstick)."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    path = str(SCENARIOS / "training" / "weekday-morning.toml")
    scores = {}
    for autopilot in ("idle", "engine"):
        result = cli("train", path, "--autopilot", autopilot, "--json", "--set", "training.follow_up_days=1.0")
        assert result.code == 0, result.err
        summary = json.loads(result.out)
        assert 0 <= summary["score"] <= 100 and summary["autopilot"] == autopilot and summary["report"] is None
        for part in summary["parts"].values():
            assert 0 <= part["numerator"] <= part["denominator"]
        scores[autopilot] = summary
    idle, engine = scores["idle"], scores["engine"]
    assert idle["score"] < engine["score"] / 2
    assert abs(engine["score"] - engine["engine_score"]) <= 5
    assert idle["parts"]["response"]["numerator"] == idle["parts"]["resolution"]["numerator"] == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "scratch"] and not list((tmp_path / "scratch").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in TRAINING if p.stem != "weekday-morning"], ids=lambda p: p.stem)
def test_doing_nothing_scores_under_half_the_engines_policy(path: Path, tmp_path: Path) -> None:
    """The other shipped scenarios, their outcomes followed one day instead of seven: idle against the
    yardstick (the engine's own run, which the engine autopilot matches within 5 points: see above)."""
    scenario = load_scenario(path, ["training.follow_up_days=1.0"])
    with Store(tmp_path / "idle.db") as store:
        result = play(store, scenario, "idle", "ann", report_dir=tmp_path / "report")
    mine, theirs = result["score"], result["engine_policy"]
    assert mine["total"] < theirs["total"] / 2
    assert mine["parts"]["response"]["right"] == mine["parts"]["resolution"]["right"] == 0
    assert mine["parts"]["response"]["untouched"] == mine["parts"]["response"]["judged"] > 0


# --- a shift played at another post ------------------------------------------------------------------------------


def test_as_another_post_moves_the_scripted_incidents_with_it(small_world: Any, tmp_path: Path) -> None:
    scenario = load_scenario(small_training(small_world, tmp_path))
    district = build_district(scenario)
    moved = play_at(scenario, "S2", district)
    assert [i.node for i in moved.injects] == ["S2", "S2/C2", "S2/C1"]  # S2's own stays
    assert moved.name == "Small training at S2" and moved.training is not None
    assert (moved.training.post, moved.training.written_for) == ("S2", "S1")
    text = briefing(moved.training, district)
    assert text.startswith("Your post: S2 (") and "written for S1 (" in text and text.endswith("Work the S1 queue.")
    assert play_at(scenario, "S1", district) is scenario
    # played there, the incidents reach the desk at S2, and the report names S2
    store = Store(tmp_path / "as.db")
    live = LiveShift.begin(store, moved, "ann", district=district)
    while not live.at_end:
        live.tick(1.0)
    handed = store.queue("district", statuses=STATUSES, source=live.shift.source)
    texts = [r.text for r in handed if r.post.startswith("S2")]
    assert any(t.endswith("is not back.") for t in texts)  # raised at S2 itself: the trainee's
    raised = {live.engine.net.posts[live.played.tracked[int(r.source_id)].origin].node for r in handed}
    assert "S2" in raised and not any(node.startswith("S1") for node in raised)
    report = Path(live.finish(tmp_path / "report")["report"]).read_text(encoding="utf-8")
    assert report.startswith("# After-action report: ann at S2") and "Small training at S2" in report
    assert "Played at S2, written for S1" in report
    store.close()


def test_as_a_post_without_the_incidents_places_is_refused_in_one_line(
    small_world: Any, tmp_path: Path, cli: Any
) -> None:
    path = small_training(small_world, tmp_path)
    scenario = load_scenario(path)
    with pytest.raises(ShiftError, match=r"injects.1 \(at S1/C2\) has no place under T1"):
        play_at(scenario, "T1", build_district(scenario))
    result = cli("train", str(path), "--as", "T1", "--autopilot", "idle")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().startswith("error: --as T1:") and len(result.err.strip().splitlines()) <= 3
