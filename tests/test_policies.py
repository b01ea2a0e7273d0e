"""The rules as policy objects: the scenario chooses each mechanism's rule, the engine binds it once, and
a rule swapped for another changes what happens without any change to the engine."""

from __future__ import annotations

import numpy as np

from sim.engine.core import Engine
from sim.engine.network import build_network
from sim.engine.streams import Streams
from sim.policies.arrivals import Generated, Replayed
from sim.policies.escalation import EscalateUnanswered, NeverEscalate
from sim.policies.neighbours import Neighbours, NoNeighbours
from sim.policies.patience import Impatient, NoPatience
from sim.policies.routing import DepartmentalGrids, OneTeam
from sim.policies.triage import ESCALATE, Subject
from sim.policies.whistle import NoWhistle, Summons
from sim.scenario import load_scenario
from sim.structure import build_district
from tests.conftest import SCENARIOS


def engine_for(name: str, sets: tuple[str, ...] = (), days: float = 2.0, **kw: object) -> Engine:
    scenario = load_scenario(SCENARIOS / name, list(sets))
    net = build_network(scenario, build_district(scenario))
    return Engine(net, Streams.from_seed(3), end_h=days * 24.0, **kw)  # type: ignore[arg-type]


def kinds(engine: Engine) -> dict[str, type]:
    return {
        "arrivals": type(engine.entry.arrivals),
        "escalation": type(engine.escalation),
        "whistle": type(engine.whistle),
        "routing": type(engine.routing),
        "patience": type(engine.patience),
        "neighbours": type(engine.neighbours),
    }


def test_the_scenario_chooses_each_rule():
    before, after = kinds(engine_for("haigang-2019.toml")), kinds(engine_for("haigang-2020.toml"))
    assert before["whistle"] is NoWhistle and after["whistle"] is Summons
    assert before["routing"] is DepartmentalGrids and after["routing"] is OneTeam
    assert before["arrivals"] is after["arrivals"] is Generated
    swapped = kinds(
        engine_for(
            "haigang-2020.toml",
            ("whistle.enabled=false", 'grids.mode="separate"', "patience.enabled=false", "escalation.auto=false"),
        )
    )
    assert swapped["whistle"] is NoWhistle and swapped["routing"] is DepartmentalGrids
    assert swapped["patience"] is NoPatience and swapped["escalation"] is NeverEscalate
    assert after["patience"] is Impatient and after["escalation"] is EscalateUnanswered
    assert after["neighbours"] is Neighbours
    assert kinds(engine_for("haigang-2020.toml", ("in_unit.enabled=false",)))["neighbours"] is NoNeighbours


def test_a_trace_replays_instead_of_generating():
    engine = engine_for("haigang-2020.toml", trace=(np.array([30.0, 0.5, 1.5, 60.0]), np.array([2, 0, 1, 0])))
    assert isinstance(engine.entry.arrivals, Replayed)
    engine.run()
    assert engine.entry.scheduled == 3  # in time order, and none after the 2-day run's end


class AlwaysUp:
    """A triage rule that sends everything up: swapped in for the scenario's, with no engine change."""

    def decide(self, req: Subject, level: int) -> int:
        return ESCALATE


def test_a_rule_swapped_in_changes_what_happens_and_nothing_else():
    standard = engine_for("haigang-2020.toml", days=2.0)
    standard.run()
    swapped = engine_for("haigang-2020.toml", days=2.0)
    swapped.triage.rule = AlwaysUp()
    swapped.run()
    settled = standard.metrics.summary()["by_level"]
    up = swapped.metrics.summary()["by_level"]
    # nothing is settled in the chain below the district: everything goes up (or to its department there)
    assert sum(settled[lv]["share"] for lv in ("unit", "building", "grid", "community", "street")) > 0.3
    assert all(up[lv]["share"] == 0 for lv in ("unit", "building", "grid", "community", "street"))
    # the same arrivals either way (the rule changes what is done, not what comes in)
    assert standard.entry.scheduled == swapped.entry.scheduled
