"""The governance graph: a tree under the district, sizes within bounds, deterministic names, queries."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis import brief
from sim.analysis.brief import structure_figures
from sim.errors import StructureError
from sim.scenario import load_scenario, scenario_from_dict
from sim.scenario.schema import Scenario
from sim.structure import DISTRICT, GROUP_LEVELS, build_district, office_staff, split_by_weight
from tests.conftest import ROOT, SCENARIOS

URBAN_CHAIN = ["unit", "building", "grid", "community", "street", "district"]
RURAL_CHAIN = ["representative", "committee_member", "grid", "village", "town", "district"]


def check_invariants(district, scenario: Scenario) -> None:
    g = district.graph
    assert nx.is_arborescence(g)
    assert [n for n, d in g.in_degree() if d == 0] == [DISTRICT]
    u, r = scenario.urban, scenario.rural
    for node, a in g.nodes(data=True):
        kids = district.children(node)
        level = a["level"]
        if level == "unit":
            assert [district.level(n) for n in district.chain(node)] == URBAN_CHAIN
            assert u.households_per_unit[0] <= a["households"] <= u.households_per_unit[1]
            assert a["residents"] >= 1
        elif level == "representative":
            assert [district.level(n) for n in district.chain(node)] == RURAL_CHAIN
            assert r.households_per_representative[0] <= a["households"] <= r.households_per_representative[1]
        elif level == "building":
            assert u.units_per_building[0] <= len(kids) <= u.units_per_building[1]
        elif level == "committee_member":
            assert r.representatives_per_member[0] <= len(kids) <= r.representatives_per_member[1]
        elif level == "grid" and a["area"] == "urban" and not a["special"]:
            assert u.households_per_grid[0] <= a["households"] <= u.households_per_grid[1]
        elif level == "grid" and a["special"]:
            assert not kids and a["members"] >= u.special_grid_members[0]
        elif level == "community":
            regular = [k for k in kids if not g.nodes[k]["special"]]
            assert u.grids_per_community[0] <= len(regular) <= u.grids_per_community[1]
        elif level == "village":
            assert r.households_per_village[0] <= a["households"] <= r.households_per_village[1]
            lo, hi = r.grids_large_village if a["large"] else r.grids_small_village
            assert lo <= len(kids) <= hi
        if kids:  # totals add up the tree
            assert a["households"] == sum(g.nodes[k]["households"] for k in kids)
            assert a["residents"] == sum(g.nodes[k]["residents"] for k in kids)
    for oid, spec in {**scenario.streets, **scenario.towns}.items():
        assert g.nodes[oid]["residents"] == spec.residents


def test_default_district_invariants(district_2020):
    check_invariants(district_2020, load_scenario(SCENARIOS / "haigang-2020.toml"))


def test_default_district_matches_the_brief(district_2020, district_2019):
    for district in (district_2019, district_2020):
        for figure in structure_figures(district):
            if figure.brief is not None:
                assert figure.within, (figure.label, figure.value, figure.brief)


def test_reform_staffing_is_accounted_for(district_2019, district_2020):
    before, after = district_2019.graph, district_2020.graph
    offices = district_2020.offices()
    assert all(before.nodes[o]["staff"] == brief.STAFF_BEFORE for o in offices)
    assert all(after.nodes[o]["staff"] >= brief.STAFF_AFTER_MIN for o in offices)
    moved = sum(after.nodes[o]["staff"] - before.nodes[o]["staff"] for o in offices)
    assert moved == brief.MOVED_POSITIONS
    deps = district_2020.departments()
    assert sum(before.nodes[d]["staff"] - after.nodes[d]["staff"] for d in deps) == brief.SELECTED_FROM_DEPARTMENTS


def test_same_seed_same_graph_and_names():
    sc = load_scenario(SCENARIOS / "haigang-2020.toml", ["towns.T1.residents=6000"])
    a, b = build_district(sc), build_district(sc)
    assert list(a.graph.nodes(data=True)) == list(b.graph.nodes(data=True))
    assert list(a.graph.edges) == list(b.graph.edges)
    other = build_district(sc.model_copy(update={"seed": sc.seed + 1}))
    names = lambda d: [d.graph.nodes[n]["name"] for n in d.offices()]  # noqa: E731
    assert names(a) != names(other)


def test_same_names_in_another_process():
    code = (
        "from sim.scenario import load_scenario; from sim.structure import build_district;"
        "import json,sys; d = build_district(load_scenario(sys.argv[1]));"
        "print(json.dumps([d.graph.nodes[n]['name'] for n in d.at_level('street','town','village')]"
        " + [d.owner(n).person for n in d.offices()]))"
    )
    path = str(SCENARIOS / "haigang-2019.toml")
    first = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, cwd=ROOT, check=True)
    second = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, cwd=ROOT, check=True)
    assert first.stdout == second.stdout
    here = build_district(load_scenario(path))
    assert json.loads(first.stdout)[-1] == here.owner(here.offices()[-1]).person


def test_queries(district_2020):
    d = district_2020
    unit = d.at_level("unit")[123]
    assert d.chain(unit)[-1] == DISTRICT
    street = d.chain(unit)[-2]
    scope = d.jurisdiction(street)
    assert unit in scope and street in scope
    assert scope == {n for n in d.graph if n == street or n.startswith(street + "/")}
    assert d.jurisdiction(unit) == {unit}
    owner = d.owner(unit)
    assert owner.role == "unit_leader" and owner.title == "单元长" and owner.person and owner.person_en
    assert d.owner(unit) == owner  # stable
    assert d.owner(street).role == "street_secretary"
    rep = d.at_level("representative")[0]
    assert d.owner(rep).person == d.graph.nodes[rep]["name"]
    with pytest.raises(StructureError):
        d.chain("S1/nowhere")


def test_groups_are_one_per_owning_post(district_2020):
    counts = Counter(a["level"] for _, a in district_2020.graph.nodes(data=True))
    groups = district_2020.group_count()
    assert groups["urban"] + groups["rural"] == sum(counts[lv] for lv in GROUP_LEVELS)


def test_names_have_chinese_and_english(district_2020):
    g = district_2020.graph
    for node in district_2020.at_level("street", "town", "community", "village"):
        name, name_en = g.nodes[node]["name"], g.nodes[node]["name_en"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in name)
        assert name_en.isascii() and name_en[0].isupper()
    for parent in district_2020.at_level("street", "town"):
        kids = [g.nodes[k]["name"] for k in district_2020.children(parent)]
        assert len(kids) == len(set(kids)), "sibling names are unique"


def test_by_population_allocation_splits_the_pool():
    sc = load_scenario(SCENARIOS / "haigang-2020.toml", ["staffing.allocation=by_population", "staffing.pool=601"])
    staff = office_staff(sc)
    assert sum(staff.values()) == 601
    assert staff["S1"] == 51  # set explicitly in the 2020 file, kept
    residents = {**sc.streets, **sc.towns}
    ordered = sorted((o for o in staff if o != "S1"), key=lambda o: residents[o].residents)
    assert [staff[o] for o in ordered] == sorted(staff[o] for o in ordered)


def test_split_by_weight_is_exact():
    assert split_by_weight(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(split_by_weight(601, [300, 100, 90, 5], minimum=20)) == 601


def test_infeasible_sizes_raise_a_clear_error():
    sc = scenario_from_dict({"name": "tiny", "streets": {"S1": {"residents": 900}}})
    with pytest.raises(StructureError, match="cannot be split"):
        build_district(sc)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    streets=st.lists(st.integers(30_000, 90_000), min_size=1, max_size=3),
    towns=st.lists(st.integers(4_000, 15_000), max_size=2),
)
def test_random_small_districts_keep_the_invariants(seed, streets, towns):
    sc = scenario_from_dict(
        {
            "name": "random",
            "seed": seed,
            "streets": {f"S{i}": {"residents": r} for i, r in enumerate(streets, 1)},
            "towns": {f"T{i}": {"residents": r} for i, r in enumerate(towns, 1)},
        }
    )
    district = build_district(sc)
    check_invariants(district, sc)
    assert district.graph.nodes[DISTRICT]["residents"] == sum(streets) + sum(towns)


def test_node_ids_are_read_in_one_place():
    """A node id spells its path from the district down; a queue's suffix after '#' names whose queue."""
    from sim.structure.ids import above, child_towards, in_scope, office_of, parent_of, post_of

    assert post_of("S1/C2/G3#health") == "S1/C2/G3" and post_of("water") == "water"
    assert office_of("S1/C2/G3#health") == "S1" and office_of("district") == "district"
    assert parent_of("S1/C2") == "S1" and parent_of("S1") is None
    assert in_scope("S1", "S1/C2/G3#health") and in_scope("district", "water") and in_scope("S1", "S1")
    assert not in_scope("S1", "S10/C1") and not in_scope("S1/C2", "S1")  # a prefix is not a parent
    assert above("S1", "S1/C2#x") and above("district", "S1") and not above("S1", "S1") and not above("S1", "S10")
    assert child_towards("S1", "S1/C2/G3") == "S1/C2" and child_towards("S1", "S2/C1") is None


def test_every_post_of_the_district_is_in_its_parents_scope(haigang_2020_district=None):
    from sim.scenario import load_scenario
    from sim.structure import build_district
    from sim.structure.ids import in_scope, parent_of

    district = build_district(load_scenario("scenarios/haigang-2019.toml"))
    for node in list(district.graph.nodes)[:3000]:
        parent = parent_of(node)
        if parent is not None:
            assert in_scope(parent, node) and parent in district.graph
