"""Staff time: who works when at a shift change, utilisation that cannot exceed 100%, overtime reported on
its own, and every hour drawn accounted for (work conservation), whistle joint sessions included."""

from __future__ import annotations

import pytest

from sim.engine import simulate
from sim.engine.core import Engine
from sim.engine.network import build_network
from sim.engine.streams import Streams
from sim.eventlog import read_events
from sim.scenario import load_scenario, scenario_from_dict
from sim.structure import build_district
from tests.conftest import SCENARIOS

#: One street whose office works two shifts, a person each, with two hours of fixed handling, and two
#: scripted requests raised at the office just before the change; nothing else arrives.
TWO_SHIFTS = {
    "name": "two shifts",
    "streets": {"S1": {"residents": 20_000}},
    "staffing": {"per_office": 2},
    "arrivals": {"requests_per_resident_year": 0.0, "requests_per_member_year": 0.0},
    "patience": {"enabled": False},
    "escalation": {"auto": False},
    "posts": {
        "street": {
            "on_duty": [{"hours": "00:00-12:00", "count": 1}, {"hours": "12:00-24:00", "count": 1}],
            "handling": {"family": "fixed", "mean_h": 2.0},
        }
    },
    "categories": {"street_light": {"needs_department": 0.0, "settle": {"street": 1.0}}},
    "injects": [
        {"at": "day 1 11:00", "node": "S1", "category": "street_light"},
        {"at": "day 1 11:30", "node": "S1", "category": "street_light"},
    ],
}


def test_at_a_shift_change_the_next_shift_starts_at_once_while_the_last_finishes_what_it_holds(tmp_path):
    path = tmp_path / "two.parquet"
    result = simulate(scenario_from_dict(TWO_SHIFTS), days=1, events=path)
    ev = read_events(path)
    started = ev[(ev["activity"].astype(str) == "started") & (ev["post"].astype(str) == "S1")]["time_h"]
    # the morning person takes the 11:00 request and works until 13:00, an hour past their shift;
    # the afternoon person comes on at 12:00 and takes the 11:30 request at once
    assert started.tolist() == pytest.approx([11.0, 12.0])
    k = result.kpis
    assert k["overtime_h"]["by_office"]["S1"] == pytest.approx(1.0)
    assert k["staff_time_h"]["on_duty"] == pytest.approx(3.0)
    assert k["utilisation"]["by_office"]["S1"] == pytest.approx(3.0 / 24.0)


def _staff_time_holds(k: dict) -> None:
    st = k["staff_time_h"]
    worked = st["on_duty"] + st["overtime"]
    assert worked == pytest.approx(
        st["drawn"] + st["whistle_held"] + st["carried_in"] - st["after_end"] - st["stopped"]
    )
    for scope in ("by_post_type", "by_office", "by_department"):
        for name, value in k["utilisation"][scope].items():
            assert value is None or value <= 1.0 + 1e-12, (scope, name, value)


def test_an_overloaded_office_is_busy_at_most_all_the_time_and_works_overtime():
    k = simulate(load_scenario(SCENARIOS / "haigang-2019.toml"), days=3, warmup_days=0.5).kpis
    _staff_time_holds(k)
    assert k["utilisation"]["by_office"]["S1"] > 0.9
    assert k["overtime_h"]["by_office"]["S1"] > 0
    assert k["staff_time_h"]["carried_in"] > 0


def test_every_hour_of_handling_drawn_is_worked_or_accounted_for():
    """The handling and joint times are recorded as the engine draws them, independently of how it
    books them; every hour drawn is worked (on duty or overtime) or still to be worked at the end."""
    scenario = scenario_from_dict(
        {
            "name": "small",
            "streets": {"S1": {"residents": 40_000}, "S2": {"residents": 25_000}},
            "staffing": {"per_office": 8},
            "whistle": {"enabled": True},
            "patience": {"enabled": False},
            "categories": {"road_surface": {"joint_share": 0.5}, "property_management": {"joint_share": 0.5}},
        }
    )
    net = build_network(scenario, build_district(scenario))
    drawn = {"handling": 0.0, "joint": 0.0}

    def recording(kind, fn):
        def draw(z):
            hours = fn(z)
            drawn[kind] += hours
            return hours

        return draw

    for cat in net.categories:
        cat.handling = [recording("handling", fn) for fn in cat.handling]
    assert net.grids is not None and net.whistle is not None
    object.__setattr__(net.grids, "handoff_handling", recording("handling", net.grids.handoff_handling))
    object.__setattr__(net.whistle, "joint", recording("joint", net.whistle.joint))
    engine = Engine(net, Streams.from_seed(3), end_h=72.0)
    k = engine.run().summary()
    st = k["staff_time_h"]
    assert st["drawn"] == pytest.approx(drawn["handling"])
    assert st["whistle_held"] >= drawn["joint"] - st["after_end"] > 0
    _staff_time_holds(k)


def test_requests_bundled_on_a_whistle_cost_the_summoned_staff_a_joint_session_each(tmp_path):
    sets = [
        "whistle.enabled=true",
        'whistle.joint_handling={family="fixed", mean_h=1.0}',
        'whistle.travel={family="fixed", mean_h=0.25}',
        'whistle.bundle="street"',
        "whistle.rules.overdue_at_street_h=2.0",
    ]
    path = tmp_path / "w.parquet"
    simulate(load_scenario(SCENARIOS / "haigang-2019.toml", sets), days=2, seed=4, events=path)
    ev = read_events(path)
    ev["activity"] = ev["activity"].astype(str)
    ev["detail"] = ev["detail"].astype(str)
    calls = ev[ev["activity"] == "whistled"].groupby("detail")
    checked = bundled = 0
    for detail, rows in calls:
        ids = set(rows["request_id"])
        head = rows["request_id"].iloc[0]
        done = ev[
            (ev["request_id"] == head)
            & ev["activity"].isin(["resolved", "returned"])
            & (ev["time_h"] > rows["time_h"].max())
        ]
        if done.empty:
            continue  # still under way at the end
        reported = ev[(ev["request_id"] == head) & (ev["activity"] == "reported")]["time_h"].max()
        assert done["time_h"].iloc[0] - reported == pytest.approx(len(ids) * 1.0), detail
        checked += 1
        bundled += len(ids) > 1
    assert checked > 5 and bundled > 0
