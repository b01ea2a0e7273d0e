"""The request-flow engine on the default district: conservation, Little's law, determinism, the
paths requests take, queue discipline, duty hours and deadlines."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import simulate
from sim.eventlog import read_events, read_metadata
from sim.scenario import load_scenario, scenario_from_dict
from sim.structure import build_district
from tests.conftest import ROOT, SCENARIOS

PRIORITY_RANK = {"special": 0, "urgent": 1, "ordinary": 2}


def test_counts_are_conserved(run_2019_logged):
    k = run_2019_logged.kpis
    assert k["requests"] > 5000
    assert k["requests"] == k["resolved"] + k["open"] + k["abandoned"]
    ev = run_2019_logged.events
    acts = ev["activity"].astype(str)
    assert (acts == "arrived").sum() == k["requests"]
    assert (acts == "resolved").sum() == k["resolved"]
    per_request = ev[acts == "resolved"].groupby("request_id").size()
    assert per_request.max() == 1


def test_littles_law_holds_on_a_full_district_run(run_2019_logged):
    law = run_2019_logged.kpis["littles_law"]
    assert law["L"] == pytest.approx(law["lambda_W"], rel=1e-9)
    assert law["lambda_per_h"] > 0 and law["W_h"] > 0


def test_littles_law_against_the_sampled_backlog():
    scenario = load_scenario(SCENARIOS / "haigang-2020.toml")
    result = simulate(scenario, days=4)
    backlog = result.metrics.backlog()
    sampled = float(np.mean(backlog["open"]))
    law = result.kpis["littles_law"]
    assert sampled == pytest.approx(law["lambda_W"], rel=0.05)


def test_timestamps_never_go_backwards(run_2019_logged):
    ev = run_2019_logged.events
    diffs = ev.groupby("request_id", sort=False)["time_h"].diff().dropna()
    assert (diffs >= 0).all()
    assert (
        ev["timestamp"].is_monotonic_increasing
        or (ev.groupby("request_id")["timestamp"].diff().dropna() >= pd.Timedelta(0)).all()
    )


def _node(post: str) -> str:
    """A departmental grid's post (``S1/C1/G1#health``) belongs to its grid node."""
    return post.split("#", 1)[0]


def _moves_are_along_the_graph(ev: pd.DataFrame, district) -> int:
    """Every move goes up the origin's chain, across to a department, back from a department to the
    origin's street or town office, or between the departmental grids of one grid node (a hand-off).
    Returns the number of moves checked."""
    g = district.graph
    departments = set(district.departments())
    checked = 0
    for rid, rows in ev.groupby("request_id", sort=False):
        acts = rows["activity"].astype(str).tolist()
        posts = [_node(p) for p in rows["post"].astype(str).tolist()]
        origin = posts[acts.index("arrived")]
        chain = district.chain(origin)
        queued = [p for a, p in zip(acts, posts, strict=True) if a == "queued"]
        if not queued:  # settled by the neighbours, or still on its way
            assert set(acts) <= {"arrived", "settled", "resolved", "deadline missed", "abandoned"}, (rid, acts)
            continue
        assert queued[0] in chain, (rid, origin, queued[0])
        for here, there in itertools.pairwise(queued):
            if there in departments:
                assert here in chain or here == "district", (rid, here, there)
            elif here in departments:
                assert there == chain[-2], (rid, here, there)  # back to the street/town office
            elif here != there:
                assert there in district.chain(here)[1:], (rid, here, there)
            assert g.has_node(there)
            checked += 1
    return checked


def test_paths_follow_the_graph(run_2019_logged):
    assert _moves_are_along_the_graph(run_2019_logged.events, run_2019_logged.district) > 1000


def test_street_queues_serve_priority_then_first_come(run_2019_logged):
    """Reconstruct each street office's queue from the log and check every pickup."""
    ev = run_2019_logged.events
    ev = ev[ev["level"].astype(str).isin(["street", "town"])]
    checked = 0
    for post, rows in ev.groupby("post", observed=True):
        waiting: dict[int, tuple[int, float, int]] = {}
        for row in rows.itertuples(index=False):
            act = str(row.activity)
            if act == "queued":
                waiting[row.request_id] = (PRIORITY_RANK[str(row.priority)], row.time_h, len(waiting))
            elif act == "started":
                mine = waiting.pop(row.request_id)
                ahead = [w for w in waiting.values() if (w[0], w[1]) < (mine[0], mine[1])]
                assert not ahead, (post, row.request_id, mine, ahead[:3])
                checked += 1
            elif act in ("escalated", "abandoned", "whistled") and row.request_id in waiting:
                waiting.pop(row.request_id)
    assert checked > 500


def test_nobody_starts_work_off_duty(run_2019_logged):
    ev = run_2019_logged.events
    started = ev[ev["activity"].astype(str) == "started"]
    hour = started["timestamp"].dt.hour + started["timestamp"].dt.minute / 60
    weekday = started["timestamp"].dt.day_of_week
    level = started["level"].astype(str)
    units = hour[level.isin(["unit", "representative"])]
    assert ((units >= 7) & (units < 22)).all()
    communities = started[level.isin(["community", "village"])]
    ch = hour[communities.index]
    weekday_ok = (weekday[communities.index] < 5) & (ch >= 8.5) & (ch < 17.5)
    weekend_ok = (weekday[communities.index] >= 5) & (ch >= 9) & (ch < 17)
    assert (weekday_ok | weekend_ok).all()


def test_auto_escalation_happens_at_the_response_deadline(run_2019_logged):
    ev = run_2019_logged.events
    scenario = load_scenario(SCENARIOS / "haigang-2019.toml")
    auto = ev[(ev["activity"].astype(str) == "escalated") & (ev["detail"].astype(str) == "auto")]
    assert len(auto) > 0
    arrived = ev[ev["activity"].astype(str) == "arrived"].set_index("request_id")["time_h"]
    for row in auto.head(300).itertuples(index=False):
        period = scenario.deadline(str(row.priority)).response_h
        elapsed = row.time_h - arrived[row.request_id]
        assert elapsed / period == pytest.approx(round(elapsed / period), abs=1e-6)
        assert round(elapsed / period) >= 1


def test_same_seed_same_log_in_another_process(tmp_path):
    script = (
        "import sys; from sim.scenario import load_scenario; from sim.engine import simulate;"
        "simulate(load_scenario(sys.argv[1]), days=1, seed=int(sys.argv[3]), events=sys.argv[2])"
    )
    path = str(SCENARIOS / "haigang-2020.toml")
    logs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / f"{name}.parquet"
        subprocess.run([sys.executable, "-c", script, path, str(out), str(seed)], check=True, cwd=ROOT)
        logs.append(out.read_bytes())
    here = tmp_path / "here.parquet"
    kpis = simulate(load_scenario(path), days=1, seed=5, events=here).kpis
    assert logs[0] == logs[1] == here.read_bytes()
    assert logs[0] != logs[2]
    again = simulate(load_scenario(path), days=1, seed=5).kpis
    assert again == kpis


def test_event_log_is_readable_by_process_mining_names(run_2019_logged):
    raw = read_events(run_2019_logged.path, friendly=False)
    assert list(raw.columns[:4]) == ["case:concept:name", "concept:name", "time:timestamp", "org:resource"]
    assert set(read_events(run_2019_logged.path).columns) >= {"request_id", "activity", "timestamp", "post", "time_h"}
    assert set(raw["concept:name"].astype(str)) >= {"arrived", "queued", "started", "settled", "passed", "resolved"}
    meta = read_metadata(run_2019_logged.path)
    assert meta["scenario"] == "Haigang 2019" and meta["days"] == 2.0
    assert meta["scenario_doc"]["streets"]["S1"]["residents"] == 300_000


# --- property tests over small random scenarios -----------------------------------------------------


@st.composite
def small_scenarios(draw):
    streets = draw(st.lists(st.integers(20_000, 40_000), min_size=1, max_size=2))
    towns = draw(st.lists(st.integers(4_000, 8_000), max_size=1))
    return scenario_from_dict(
        {
            "name": "random",
            "seed": draw(st.integers(0, 10_000)),
            "streets": {f"S{i}": {"residents": r} for i, r in enumerate(streets, 1)},
            "towns": {f"T{i}": {"residents": r} for i, r in enumerate(towns, 1)},
            "staffing": {"per_office": draw(st.integers(1, 60))},
            "arrivals": {"requests_per_resident_year": draw(st.floats(0.5, 6.0))},
            "escalation": {"auto": draw(st.booleans())},
        }
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(scenario=small_scenarios(), seed=st.integers(0, 2**31))
def test_invariants_hold_on_random_small_scenarios(tmp_path, scenario, seed):
    district = build_district(scenario)
    path = tmp_path / f"{seed}.parquet"
    result = simulate(scenario, days=1.5, seed=seed, events=path, district=district)
    k = result.kpis
    assert k["requests"] == k["resolved"] + k["open"] + k["abandoned"]
    assert k["littles_law"]["L"] == pytest.approx(k["littles_law"]["lambda_W"], rel=1e-9)
    ev = read_events(path)
    assert (ev.groupby("request_id", sort=False)["time_h"].diff().dropna() >= 0).all()
    assert (ev["activity"].astype(str) == "arrived").sum() == k["requests"]
    _moves_are_along_the_graph(ev, district)
    for rate in ("response_rate", "resolution_rate", "satisfaction_rate"):
        assert k[rate] is None or 0.0 <= k[rate] <= 1.0
