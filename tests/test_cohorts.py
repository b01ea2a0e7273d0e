"""Every rate over a stated cohort: the requests whose deadline fell inside the measured window, with
the cohort's size beside the rate; waits that count the requests still waiting at the end."""

from __future__ import annotations

import pytest

from sim.engine import simulate
from sim.metrics import Survival, too_short_lines
from sim.scenario import load_scenario, scenario_from_dict
from tests.conftest import SCENARIOS


def _inject(at: str) -> dict:
    return {"at": at, "node": "S1", "category": "street_light", "priority": "special"}


#: One street office, one person on duty around the clock, 0.2 h of fixed handling, every request
#: settled there; special requests (response within 0.5 h, resolution within 24 h) raised at set times.
DESK = {
    "name": "one desk",
    "streets": {"S1": {"residents": 20_000}},
    "staffing": {"per_office": 1},
    "arrivals": {"requests_per_resident_year": 0.0, "requests_per_member_year": 0.0},
    "patience": {"enabled": False},
    "escalation": {"auto": False},
    "posts": {"street": {"on_duty": [{"count": 1}], "handling": {"family": "fixed", "mean_h": 0.2}}},
    "categories": {"street_light": {"needs_department": 0.0, "settle": {"street": 1.0}}},
    "injects": [
        _inject("day 1 00:00"),  # answered at 00:12: on time
        _inject("day 1 00:06"),  # waits 0.1 h, answered 0.3 h after arriving: on time
        _inject("day 1 00:09"),  # waits 0.25 h, answered after 0.45 h: on time
        _inject("day 1 00:10"),  # waits 0.43 h, answered after 0.63 h: late
        _inject("day 2 11:42"),  # answered at 11:54, on time, but due after the end: not judged
    ],
}


def test_a_rate_is_judged_on_the_requests_whose_deadline_fell_inside_the_run():
    k = simulate(scenario_from_dict(DESK), days=1.5).kpis
    special = k["by_priority"]["special"]
    assert special["requests"] == 5
    assert special["response_judged"] == 4
    assert special["response_rate"] == pytest.approx(3 / 4)
    # resolution within 24 h: the four early ones were fixed when answered; the last is due after the end
    assert special["resolution_judged"] == 4
    assert special["resolution_rate"] == 1.0
    assert k["satisfaction_judged"] == 4
    # on time: 0.95; the late answer scores 0.95 * 0.8 (README: the three rates)
    assert k["satisfaction_rate"] == pytest.approx((3 * 0.95 + 0.95 * 0.8) / 4)
    # a cohort with nobody in it has no rate at all, never 0 or 1
    urgent = k["by_priority"]["urgent"]
    assert urgent["requests"] == 0 and urgent["response_rate"] is None and urgent["response_judged"] == 0


def test_waits_at_a_post_count_those_still_waiting_at_the_end():
    late = dict(DESK, injects=[*DESK["injects"], _inject("day 2 11:44"), _inject("day 2 11:45")])
    k = simulate(scenario_from_dict(late), days=1.5).kpis
    street = k["waiting_h"]["street"]
    # picked up: the five before, and the one at 11:44 at 11:54; the one at 11:45 still waits at the end
    assert street["n"] == 6 and street["still_waiting"] == 1
    within = street["within_h"]["0.5"]
    # judged on those that reached the office at least half an hour before the end: the first four;
    # all of them were picked up within half an hour
    assert within["judged"] == 4 and within["share"] == 1.0
    quarter = Survival(24.0)
    for wait, started in ((0.0, 0.0), (0.1, 0.1), (0.25, 0.15), (0.43, 0.17)):
        quarter.add(wait, started)
    quarter.still_open(0.25)  # waited 0.25 h when the run ended: counts against "within 0.2 h"
    share, judged = quarter.within(0.2)
    assert judged == 5 and share == pytest.approx(2 / 5)


def test_a_share_within_t_leaves_out_what_started_less_than_t_before_the_end():
    s = Survival(10.0)
    s.add(0.5, 2.0)  # picked up after half an hour
    s.add(3.0, 3.0)  # after three hours
    s.add(0.5, 9.6)  # started 0.4 h before the end: not judged within 1 h
    s.leave(1.0)  # left unpicked (sent up, gave up): against the share
    s.still_open(5.0)  # still waiting after 5 h: against the share
    share, judged = s.within(1.0)
    assert judged == 4 and share == pytest.approx(1 / 4)


def test_a_run_too_short_for_a_deadline_says_which_priorities_it_cannot_judge():
    k = simulate(load_scenario(SCENARIOS / "haigang-2020.toml"), days=3, warmup_days=0.5).kpis
    short = {(t["priority"], t["rate"]) for t in k["too_short"]}
    assert short == {("urgent", "resolution"), ("ordinary", "resolution")}
    assert k["by_priority"]["ordinary"]["resolution_rate"] is None
    assert k["by_priority"]["ordinary"]["resolution_judged"] == 0
    (line,) = too_short_lines(k["too_short"])
    assert "urgent (72 h) and ordinary (168 h)" in line and "60 h measured" in line
