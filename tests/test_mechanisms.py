"""The governance mechanisms, each on its own: whistle, merged and separate grids, neighbours settling
in the unit, residents' patience and repeats, surges, scripted incidents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.engine import simulate
from sim.engine.core import Engine
from sim.engine.network import build_network
from sim.engine.streams import Streams
from sim.errors import ScenarioError
from sim.eventlog import read_events
from sim.scenario import load_scenario, scenario_from_dict
from sim.structure import build_district
from tests.conftest import SCENARIOS

SMALL = {
    "name": "small",
    "seed": 4,
    "streets": {"S1": {"residents": 60_000}, "S2": {"residents": 40_000}},
    "towns": {"T1": {"residents": 8_000}},
    "staffing": {"per_office": 30},
}


def run(data: dict, days: float, tmp_path, name: str = "run", seed: int = 1, sets: tuple[str, ...] = ()):
    scenario = scenario_from_dict(data, list(sets))
    path = tmp_path / f"{name}.parquet"
    result = simulate(scenario, days=days, seed=seed, events=path)
    ev = read_events(path)
    ev["activity"] = ev["activity"].astype(str)
    ev["detail"] = ev["detail"].astype(str)
    return result.kpis, ev


# --- the whistle -------------------------------------------------------------------------------------

MANY_JOINT = ("categories.road_surface.joint_share=0.5", "categories.property_management.joint_share=0.3")


def test_without_the_whistle_there_are_no_whistles_and_referrals_are_ordinary(tmp_path):
    k, ev = run(SMALL, 4, tmp_path, sets=("whistle.enabled=false", *MANY_JOINT))
    assert k["whistles"] == 0 and k["problems_solved_by_whistle"] == 0
    assert not ev["activity"].isin(["whistled", "reported"]).any()
    # two-department requests go to one department, back to the office, then to the other
    nxt = ev[(ev["activity"] == "returned") & (ev["detail"] == "next department")]
    assert len(nxt) > 20
    for rid in nxt["request_id"].head(20):
        rows = ev[ev["request_id"] == rid]
        depts = rows[(rows["activity"] == "queued") & (rows["level"].astype(str) == "department")]["post"].astype(str)
        assert depts.nunique() == 2


def test_with_the_whistle_departments_are_summoned_and_assessed(tmp_path):
    k, ev = run(SMALL, 4, tmp_path, sets=("whistle.enabled=true", *MANY_JOINT))
    assert k["whistles"] > 20
    assert 0 < k["whistle_report_met_rate"] <= 1
    assert k["problems_solved_by_whistle"] >= 0.9 * k["whistles"]
    whistled = ev[ev["activity"] == "whistled"].drop_duplicates("detail")
    reported = ev[ev["activity"] == "reported"]
    assert len(reported) == k["whistle_summons"] >= k["whistles"]
    # each summons is assessed on its own: on time exactly when it reported within 30 minutes
    at = whistled.set_index("request_id")["time_h"]
    for row in reported.itertuples(index=False):
        if row.request_id in at.index:
            on_time = row.time_h - at[row.request_id] <= 0.5 + 1e-9
            assert (row.detail == "on time") == on_time
    # two-department problems are no longer passed from department to department
    # (only a problem the whistle did not solve goes the ordinary way: studied, then department by department)
    onward = ev[ev["detail"] == "next department"]["request_id"].unique()
    studied = set(ev[ev["detail"] == "study"]["request_id"])
    assert k["whistles"] and set(onward) <= studied


def test_the_whistle_rules_can_be_switched_one_by_one(tmp_path):
    sets = (
        "whistle.enabled=true",
        "whistle.rules.multi_department=false",
        "whistle.rules.special=false",
        "whistle.rules.overdue_at_street_h=100000",
        *MANY_JOINT,
    )
    k, _ = run(SMALL, 3, tmp_path, sets=sets)
    assert k["whistles"] == 0


# --- grids ---------------------------------------------------------------------------------------------


def test_merged_grids_wait_less_than_separate_ones_with_the_same_workers(tmp_path):
    busy = {
        **SMALL,
        "arrivals": {"requests_per_resident_year": 12.0, "entry": {"unit": 0.2, "grid": 0.75, "street": 0.05}},
    }
    merged, _ = run(busy, 5, tmp_path, "merged", sets=("grids.mode=merged",))
    separate, ev = run(busy, 5, tmp_path, "separate", sets=("grids.mode=separate",))
    fresh = lambda k: k["requests"] - k["repeat_requests"]  # noqa: E731
    assert fresh(merged) == fresh(separate)  # the same arrivals
    m, s = merged["by_grid_mode"], separate["by_grid_mode"]
    assert m["mode"] == "merged" and s["mode"] == "separate"
    assert m["waiting_h"]["mean"] < s["waiting_h"]["mean"]
    assert m["misrouted"] == 0 and m["handoffs"] == 0
    assert s["handoffs"] > 0 and s["misrouted"] >= s["handoffs"] * 0.9
    assert set(s["by_type"]) == {
        "party_building",
        "comprehensive_governance",
        "health",
        "emergency_management",
        "urban_management",
    }
    handed = ev[ev["activity"] == "handed off"]
    assert handed["post"].astype(str).str.contains("#").all()


def test_separate_grids_need_a_worker_per_departmental_grid():
    with pytest.raises(ScenarioError, match="at least 5 workers"):
        scenario_from_dict(SMALL, ["grids.mode=separate", "urban.grid_staff=3"])


# --- neighbours, patience, repeats ------------------------------------------------------------------------


def test_neighbours_settle_some_matters_without_staff(tmp_path):
    on, ev = run(SMALL, 10, tmp_path, "on", sets=("in_unit.enabled=true",))
    off, _ = run(SMALL, 3, tmp_path, "off", sets=("in_unit.enabled=false",))
    assert off["settled_in_unit_share"] == 0
    scenario = scenario_from_dict(SMALL)
    expected = sum(c.share * c.in_unit for c in scenario.categories.values()) * scenario.arrivals.entry["unit"]
    assert on["settled_in_unit_share"] == pytest.approx(expected, abs=0.01)
    by_neighbours = ev[(ev["activity"] == "settled") & (ev["actor"].astype(str) == "neighbours")]
    assert len(by_neighbours) > 0
    assert not ev[ev["request_id"].isin(by_neighbours["request_id"]) & (ev["activity"] == "started")].shape[0]


def test_impatient_residents_abandon_to_the_hotline_and_some_come_back(tmp_path):
    sets = (
        "patience.enabled=true",
        'patience.ordinary={family="lognormal", mean_h=2.0, cv=1.0}',
        "patience.repeat_after_abandon=1.0",
    )
    k, ev = run(SMALL, 3, tmp_path, sets=sets)
    assert k["abandoned_to_hotline"] > 100
    assert k["requests"] == k["resolved"] + k["open"] + k["abandoned"]
    assert k["repeat_requests"] > 0.5 * k["abandoned_to_hotline"] * 0.5
    abandoned = ev[ev["activity"] == "abandoned"]["request_id"]
    closed_twice = ev[ev["request_id"].isin(abandoned) & (ev["activity"] == "resolved")]
    assert closed_twice.empty
    assert (ev[ev["activity"] == "arrived"]["detail"] == "repeat").sum() == k["repeat_requests"]
    off, _ = run(SMALL, 3, tmp_path, "off", sets=("patience.enabled=false",))
    assert off["abandoned_to_hotline"] == 0 and off["repeat_requests"] == 0


# --- surges ----------------------------------------------------------------------------------------------


def test_surge_multipliers_cover_their_window_and_categories():
    scenario = scenario_from_dict(
        {
            **SMALL,
            "surges": [
                {
                    "name": "storm",
                    "start": "day 2 22:00",
                    "end": "day 3 06:30",
                    "multiplier": 4.0,
                    "categories": ["drain_sewage"],
                }
            ],
        }
    )
    district = build_district(scenario)
    streams = Streams.from_seed(0)
    engine = Engine(build_network(scenario, district), streams, end_h=72)
    drain = list(scenario.categories).index("drain_sewage")
    mult = engine.entry.arrivals.hour_multipliers(40, 20)  # hours 40..59: day 2 16:00 to day 3 11:00
    assert mult is not None
    hours = np.arange(40, 60)
    inside = (hours >= 46) & (hours < 54)
    assert np.all(mult[inside, drain] == 4.0)
    assert mult[hours == 54, drain][0] == pytest.approx(2.5)  # 06:00-07:00, half covered
    assert np.all(mult[(hours < 46) | (hours > 54), drain] == 1.0)
    others = [i for i in range(mult.shape[1]) if i != drain]
    assert np.all(mult[:, others] == 1.0)
    assert engine.entry.arrivals.hour_multipliers(0, 24) is None


def test_a_surge_raises_arrivals_only_in_its_window_and_categories(tmp_path):
    surge = {
        "name": "storm",
        "start": "day 2 00:00",
        "end": "day 3 00:00",
        "multiplier": 5.0,
        "categories": ["drain_sewage"],
    }
    base, ev0 = run(SMALL, 3, tmp_path, "base")
    surged, ev1 = run({**SMALL, "surges": [surge]}, 3, tmp_path, "surge")

    def arrivals(ev: pd.DataFrame, cat: str, lo: float, hi: float) -> int:
        a = ev[(ev["activity"] == "arrived") & (ev["detail"] == "")]
        return int(((a["category"].astype(str) == cat) & (a["time_h"] >= lo) & (a["time_h"] < hi)).sum())

    assert arrivals(ev1, "drain_sewage", 0, 24) == arrivals(ev0, "drain_sewage", 0, 24)  # same stream before
    inside0, inside1 = arrivals(ev0, "drain_sewage", 24, 48), arrivals(ev1, "drain_sewage", 24, 48)
    assert inside1 == pytest.approx(5 * inside0, rel=0.3)
    for cat in ("noise", "street_light", "property_management"):
        assert arrivals(ev1, cat, 24, 48) == pytest.approx(arrivals(ev0, cat, 24, 48), rel=0.3)
    assert arrivals(ev1, "drain_sewage", 48, 72) == pytest.approx(arrivals(ev0, "drain_sewage", 48, 72), rel=0.35)
    assert surged["requests"] > base["requests"]


# --- scripted incidents ------------------------------------------------------------------------------------


def test_an_inject_appears_exactly_once_at_its_time_and_node(tmp_path):
    scenario = scenario_from_dict(SMALL)
    node = build_district(scenario).at_level("unit")[17]
    inject = {"at": "day 2 09:30", "node": node, "category": "lost_elderly", "text": "An 82-year-old has not come home"}
    k, ev = run({**SMALL, "injects": [inject]}, 3, tmp_path)
    rows = ev[ev["detail"].str.startswith("injected")]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["activity"] == "arrived" and row["time_h"] == pytest.approx(33.5)
    assert str(row["post"]) == node and str(row["category"]) == "lost_elderly" and str(row["priority"]) == "special"
    assert row["detail"] == "injected: An 82-year-old has not come home"
    history = ev[ev["request_id"] == row["request_id"]]
    assert history.iloc[1]["activity"] == "queued" and str(history.iloc[1]["post"]) == node
    assert k["injected"] == 1


def test_a_bad_inject_node_is_a_clear_scenario_error():
    scenario = scenario_from_dict({**SMALL, "injects": [{"at": "day 1 08:00", "node": "S9/C1", "category": "noise"}]})
    with pytest.raises(ScenarioError, match=r"injects\.0\.node.*no such node"):
        simulate(scenario, days=1)


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("whistle.enabled=yes", "true or false"),
        ("grids.mode=mixed", '"merged" or "separate"'),
        ("grids.misroute=1.5", "≤ 1"),
        ("whistle.report_within_min=0", "> 0"),
        ('patience.urgent={family="weibull", mean_h=3}', "lognormal"),
        ("in_unit.enabled=1", "true or false"),
    ],
)
def test_bad_switch_values_are_clear_errors(setting, needle):
    with pytest.raises(ScenarioError) as info:
        load_scenario(SCENARIOS / "haigang-2020.toml", [setting])
    assert needle in str(info.value) and str(info.value).startswith("--set ")


def test_bad_surges_and_injects_are_clear_errors():
    bad = [
        (
            {"surges": [{"name": "x", "start": "day 2 10:00", "end": "day 1 10:00", "multiplier": 2.0}]},
            "end is not after",
        ),
        (
            {
                "surges": [
                    {
                        "name": "x",
                        "start": "day 1 10:00",
                        "end": "day 2 10:00",
                        "multiplier": 2.0,
                        "categories": ["floods"],
                    }
                ]
            },
            "no category 'floods'",
        ),
        ({"injects": [{"at": "tomorrow", "node": "S1", "category": "noise"}]}, "day N HH:MM"),
        ({"injects": [{"at": "day 1 10:00", "node": "S1", "category": "ufo"}]}, "no category 'ufo'"),
    ]
    for extra, needle in bad:
        with pytest.raises(ScenarioError, match=needle):
            scenario_from_dict({**SMALL, **extra})
