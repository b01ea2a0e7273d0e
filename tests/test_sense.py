"""Sense checks: scenarios that validate field by field but would make a run meaningless are refused first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.scenario.sense import check_run, expected_requests, reached_levels, size
from tests.conftest import SCENARIOS

TINY = Path(__file__).parent / "data" / "fuzz" / "tiny.toml"


def refused(*sets: str, file: Path = TINY) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(file, list(sets))
    return [p.render() for p in caught.value.problems]


def test_the_size_estimate_is_close_to_the_built_district(district_2020):
    estimate = size(load_scenario(SCENARIOS / "haigang-2020.toml"))
    assert estimate.nodes == pytest.approx(district_2020.graph.number_of_nodes(), rel=0.01)
    # measured: a day's run of the default district peaks at 335 MB; the estimate errs on the safe side
    assert 335 * 1024**2 <= estimate.bytes <= 500 * 1024**2


def test_a_district_too_large_for_the_machine_is_refused_with_the_estimate(tmp_path: Path):
    huge = tmp_path / "huge.toml"
    streets = "".join(f"[streets.X{i}]\nresidents = 5_000_000\n" for i in range(190))
    huge.write_text(f'extends = "{TINY}"\nname = "huge"\n{streets}', encoding="utf-8")
    (problem,) = refused(file=huge)
    assert problem.startswith(f"{huge}: streets: the district is too large to build: about 26,")
    assert "GB to run" in problem and "at most about" in problem


def test_offices_nobody_works_at_are_refused_at_the_key_that_set_them():
    assert refused("staffing.per_office=0") == [
        "--set staffing.per_office=0: staffing.per_office: nobody at any of the offices of S1, T1 is ever on duty "
        "(0 staff), but requests reach them; they would wait for ever"
    ]
    (problem,) = refused("streets.S1.staff=0")
    assert problem.startswith("--set streets.S1.staff=0: streets.S1.staff: nobody at the office of S1")


def test_a_calendar_with_nobody_on_duty_is_refused():
    problems = refused("posts.community.on_duty=[{count = 0}]")
    assert len(problems) == 2  # urban communities and villages, one line each
    assert all("posts.community.on_duty: nobody at any of the" in p and "every count and share is 0" in p
               for p in problems)  # fmt: skip


def test_a_department_requests_need_must_have_staff():
    (problem,) = refused("departments.water.staff=0")
    assert "departments.water.staff: nobody at the department water is ever on duty" in problem
    # a department nobody's requests need may have none
    load_scenario(TINY, ["departments.natural_resources.staff=0", "categories.noise.department=environment"])


def test_posts_no_request_reaches_need_no_staff():
    hotline = ["arrivals.entry={unit = 0.0, grid = 0.0, street = 1.0}",
               "categories.lost_elderly.entry={unit = 0.0, grid = 0.0, street = 1.0}"]  # fmt: skip
    only_streets = load_scenario(TINY, hotline)
    assert reached_levels(only_streets) == ["street", "district"]
    load_scenario(TINY, [*hotline, "posts.unit.on_duty=[{count = 0}]"])
    assert reached_levels(load_scenario(TINY)) == ["unit", "building", "grid", "community", "street", "district"]


def test_an_empty_table_that_would_change_nothing_is_refused(tmp_path: Path):
    (problem,) = refused("categories={}")
    assert problem.startswith("--set categories={}: categories: an empty table changes nothing")
    f = tmp_path / "empty.toml"
    f.write_text(f'extends = "{TINY}"\nname = "x"\n\n[departments]\n', encoding="utf-8")
    (problem,) = refused(file=f)
    assert problem.startswith(f"{f}:4: departments: an empty table changes nothing")


def test_no_arrivals_at_all_are_refused():
    (problem,) = refused("arrivals.requests_per_resident_year=0", "arrivals.requests_per_member_year=0")
    assert "no request would ever arrive" in problem


def test_an_inject_after_the_run_is_refused(tmp_path: Path):
    f = tmp_path / "late.toml"
    f.write_text(
        f'extends = "{TINY}"\nname = "late"\n[clock]\ndays = 5.0\n'
        '[[injects]]\nat = "day 9 10:00"\nnode = "S1"\ncategory = "noise"\n',
        encoding="utf-8",
    )
    (problem,) = refused(file=f)
    assert problem == (
        f'{f}:6: injects.0.at: at "day 9 10:00", after the run\'s end (5 days from 2020-06-01): it would never happen'
    )
    early = load_scenario(f, ["clock.days=10"])
    with pytest.raises(ScenarioError, match=re.escape('--days 7: injects.0.at: at "day 9 10:00", after the run\'s')):
        check_run(early, 7.0, None)


def test_a_run_must_be_able_to_judge_something():
    tiny = load_scenario(TINY)
    assert check_run(tiny, 2.0, 1.0) == (2.0, 1.0)
    with pytest.raises(ScenarioError, match=r"--warmup-days 5: the warm-up \(5 days\) must be shorter"):
        check_run(tiny, 0.1, 5.0)
    with pytest.raises(ScenarioError, match=re.escape("--days 0.01: the run judges 0.01 days after the warm-up")):
        check_run(tiny, 0.01, None)
    assert check_run(tiny, 0.01, None, generated=False) == (0.01, 0.0)  # a trace brings its own arrivals


def test_expected_requests_follow_the_rate_and_the_profiles():
    tiny = load_scenario(TINY)
    per_week = expected_requests(tiny, 0.0, 168.0)
    residents = 15_000
    members = tiny.urban.special_grids_per_100k * 12_000 / 100_000 * sum(tiny.urban.special_grid_members) / 2
    assert per_week == pytest.approx((residents + members * 0.3) * 7 / 365, rel=1e-9)
    night = expected_requests(tiny, 2.0, 4.0)  # Monday 02:00-04:00, the quietest hours
    assert night < per_week / 168 * 2 / 3


def test_check_builds_the_district_and_finds_nodes_it_lacks(cli, tmp_path: Path):
    f = tmp_path / "nowhere.toml"
    f.write_text(
        f'extends = "{TINY}"\nname = "nowhere"\n[[injects]]\nat = "day 1 10:00"\nnode = "S9/C1"\ncategory = "noise"\n'
        '[training]\npost = "NOPE"\nstart = "day 1 08:00"\n',
        encoding="utf-8",
    )
    result = cli("check", str(f))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {f}: injects.0.node: 'S9/C1': no such node in the district; use a node id such as 'S1/C1/G1/B1/U1'",
        f"error: {f}: training.post: no post 'NOPE' in the district (e.g. S1, S1/C1, S1/C1/G1, water)",
    ]
    ok = cli("check", str(TINY), "--json")
    assert ok.code == 0 and '"nodes": 417' in ok.out
