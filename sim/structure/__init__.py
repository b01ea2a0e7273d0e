"""The governance graph: the district as a tree of offices and groups, like an organisation chart.

Every request is raised somewhere in this tree (a stair unit, a villager representative's group) and
travels up it towards the district, or across to a department. The urban chain is district → street →
community → grid → building → unit; the rural chain is district → town → village → grid → village
committee member → villager representative. Departments hang off the district. Households and residents
are counts on the lowest nodes (summed up the tree), never one node per person.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
from faker import Faker

from sim.errors import StructureError
from sim.scenario.schema import OfficeSpec, RuralSpec, Scenario, UrbanSpec
from sim.scenario.sense import office_staff as office_staff
from sim.scenario.sense import split_by_weight as split_by_weight

DISTRICT = "district"

#: Depth of each level below the district; urban and rural levels at the same depth play the same part.
TIER = {
    "district": 0,
    "department": 1,
    "street": 1,
    "town": 1,
    "community": 2,
    "village": 2,
    "grid": 3,
    "building": 4,
    "committee_member": 4,
    "unit": 5,
    "representative": 5,
}

#: Levels whose post owns a neighbourhood group (one group per node at these levels).
GROUP_LEVELS = frozenset(
    {"street", "town", "community", "village", "grid", "building", "committee_member", "unit", "representative"}
)

#: The post that owns each level's group: (role, Chinese title, English title).
OWNER_ROLE = {
    "district": ("district_secretary", "区委书记", "district party secretary"),
    "department": ("department_head", "局长", "department head"),
    "street": ("street_secretary", "街道党工委书记", "street party secretary"),
    "town": ("town_secretary", "镇党委书记", "town party secretary"),
    "community": ("community_secretary", "社区书记", "community secretary"),
    "village": ("village_secretary", "村党支部书记", "village secretary"),
    "grid": ("grid_leader", "网格长", "grid leader"),
    "building": ("building_leader", "楼长", "building leader"),
    "unit": ("unit_leader", "单元长", "unit leader"),
    "committee_member": ("committee_member", "村委委员", "village committee member"),
    "representative": ("representative", "村民代表", "villager representative"),
}

SPECIAL_GRID_KINDS = ("enterprise", "institution", "school")

_PLACE_SUFFIX = {
    "street": ("街道", "Street"),
    "town": ("镇", "Town"),
    "community": ("社区", "Community"),
    "village": ("村", "Village"),
}


@dataclass(frozen=True)
class Owner:
    """The person and post that own a node's group (the administrator who triages requests there)."""

    node: str
    role: str
    title: str
    title_en: str
    person: str
    person_en: str


@dataclass(frozen=True, eq=False)
class District:
    """A built district: the graph plus the queries the engine, CLI and console ask of it."""

    graph: nx.DiGraph[str]
    seed: int

    def __contains__(self, node: object) -> bool:
        return node in self.graph

    def node(self, node: str) -> dict[str, object]:
        if node not in self.graph:
            raise StructureError(f"no node '{node}' in the district")
        return dict(self.graph.nodes[node])

    def level(self, node: str) -> str:
        return str(self.node(node)["level"])

    def parent(self, node: str) -> str | None:
        try:
            return next(iter(self.graph.pred[node]), None)
        except KeyError:
            raise StructureError(f"no node '{node}' in the district") from None

    def children(self, node: str) -> list[str]:
        self.node(node)
        return list(self.graph.successors(node))

    def chain(self, node: str) -> list[str]:
        """The node and every node above it, up to and including the district."""
        out = [node]
        current: str | None = self.parent(node)
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return out

    def jurisdiction(self, node: str) -> set[str]:
        """The node and everything below it: what a post at ``node`` answers for."""
        self.node(node)
        return {node, *nx.descendants(self.graph, node)}

    def owner(self, node: str) -> Owner:
        """The post that owns ``node``'s group, with a deterministic (seeded) person's name."""
        attrs = self.node(node)
        role, title, title_en = OWNER_ROLE[str(attrs["level"])]
        if attrs["level"] in ("committee_member", "representative"):
            person, person_en = str(attrs["name"]), str(attrs["name_en"])
        else:
            person, person_en = _person(self.seed, node)
        return Owner(node, role, title, title_en, person, person_en)

    def at_level(self, *levels: str) -> list[str]:
        return [n for n, lv in self._levels.items() if lv in levels]

    @cached_property
    def _levels(self) -> dict[str, str]:
        return {n: str(a["level"]) for n, a in self.graph.nodes(data=True)}

    def offices(self) -> list[str]:
        """Street and town offices, in scenario order."""
        return self.at_level("street", "town")

    def departments(self) -> list[str]:
        return self.at_level("department")

    def group_count(self) -> dict[str, int]:
        """Neighbourhood groups under the streets (urban) and under the towns (rural)."""
        counts = {"urban": 0, "rural": 0}
        for _, attrs in self.graph.nodes(data=True):
            if attrs["level"] in GROUP_LEVELS:
                counts[str(attrs["area"])] += 1
        return counts

    def walk(self, node: str = DISTRICT) -> Iterator[str]:
        """Depth-first, parents before children, children in build order."""
        return iter(nx.dfs_preorder_nodes(self.graph, node))

    def restricted(self, offices: Sequence[str]) -> District:
        """The district with only ``offices`` (street or town ids) below it, every department kept: what a
        question about those offices needs simulated. The departments' staff are scaled to the share of
        the district's residents those offices serve (at least one each), so each department sees about
        the load per person it sees in the whole district; the nodes of the offices' areas are the very
        nodes of the whole district."""
        known = self.offices()
        unknown = [o for o in offices if o not in known]
        if unknown:
            raise StructureError(f"no street or town office {', '.join(unknown)} (known: {', '.join(known)})")
        keep = {DISTRICT, *self.departments()}
        for office in offices:
            keep |= self.jurisdiction(office)
        graph: nx.DiGraph[str] = nx.DiGraph()  # in the whole district's order: posts keep their order
        graph.add_nodes_from((n, dict(a)) for n, a in self.graph.nodes(data=True) if n in keep)
        graph.add_edges_from((u, v) for u, v in self.graph.edges if u in keep and v in keep)
        total = int(self.graph.nodes[DISTRICT].get("residents", 0)) or 1
        served = sum(int(self.graph.nodes[o].get("residents", 0)) for o in offices)
        for dept in self.departments():
            attrs = graph.nodes[dept]
            if "staff" in attrs:
                attrs["staff"] = max(1, round(int(attrs["staff"]) * served / total))
        for key in ("households", "residents"):
            graph.nodes[DISTRICT][key] = sum(int(graph.nodes[o].get(key, 0)) for o in offices)
        return District(graph, self.seed)


def build_district(scenario: Scenario) -> District:
    """Build the district graph for ``scenario``; the same scenario (and seed) gives the same graph."""
    return _Builder(scenario).build()


def check_buildable(scenario: Scenario) -> None:
    """Refuse, before any work, a scenario whose district cannot be built (a fragment meant for
    ``extends``, with no streets and no towns); :class:`StructureError` says why."""
    if not scenario.streets and not scenario.towns:
        raise StructureError("the scenario has no streets and no towns; add [[streets]] or [[towns]]")


# --- building -----------------------------------------------------------------------------------------


def _stable(*parts: object) -> int:
    """A process-independent 64-bit hash (Python's ``hash`` of a str changes between processes)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _person(seed: int, node: str) -> tuple[str, str]:
    fake = Faker("zh_CN")
    fake.seed_instance(_stable(seed, "person", node))
    name = fake.name()
    return name, _romanize(name, person=True)


def _romanize(text: str, person: bool = False) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(text)
    if person and len(syllables) > 1:
        return f"{syllables[0].capitalize()} {''.join(syllables[1:]).capitalize()}"
    return "".join(syllables).capitalize()


def parts_within(total: int, lo: int, hi: int, rng: np.random.Generator, what: str) -> list[int]:
    """Split ``total`` into parts each within ``lo..hi``, about as many as a mid-range size gives."""
    nmin = math.ceil(total / hi)
    nmax = total // lo
    if total < 1 or nmin > nmax:
        raise StructureError(
            f"{what}: {total} cannot be split into parts of {lo} to {hi}; widen the range or change the size"
        )
    n = min(max(round(total / ((lo + hi) / 2)), nmin), nmax)
    room = hi - lo
    extra = total - n * lo
    weights = rng.dirichlet(np.full(n, 4.0)) if n > 1 else np.ones(1)
    parts = np.minimum(np.floor(weights * extra).astype(np.int64), room)
    left = int(extra - parts.sum())
    while left > 0:
        open_ = np.flatnonzero(parts < room)
        pick = rng.choice(open_, size=min(left, open_.size), replace=False)
        parts[pick] += 1
        left -= pick.size
    return [int(p) + lo for p in parts]


class _Builder:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0x5EED]))
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(_stable(scenario.seed, "names"))
        self.nodes: list[tuple[str, dict[str, object]]] = []
        self.edges: list[tuple[str, str]] = []
        self.leaf_at: dict[str, int] = {}

    def add(self, parent: str | None, node: str, **attrs: object) -> str:
        attrs["tier"] = TIER[str(attrs["level"])]
        self.nodes.append((node, attrs))
        if parent is not None:
            self.edges.append((parent, node))
        return node

    def build(self) -> District:
        sc = self.scenario
        check_buildable(sc)
        self.add(None, DISTRICT, level="district", name=sc.district.name, name_en=sc.district.name_en, area="district")
        for did, dep in sc.departments.items():
            self.add(
                DISTRICT, did, level="department", name=dep.name, name_en=dep.name_en, staff=dep.staff, area="district"
            )
        staff = office_staff(sc)
        taken: set[str] = set()
        for sid, spec in sc.streets.items():
            self._street(sid, spec, staff[sid], taken)
        for tid, spec in sc.towns.items():
            self._town(tid, spec, staff[tid], taken)
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        graph.add_edges_from(self.edges)
        _sum_up(graph)
        return District(graph=graph, seed=sc.seed)

    def _name(self, taken: set[str], level: str) -> tuple[str, str]:
        """A sibling-unique place name in Chinese and its pinyin label, in the forms used locally."""
        suffix, suffix_en = _PLACE_SUFFIX[level]
        stem = ""
        for _ in range(50):
            stem = self._stem(level)
            if stem + suffix not in taken:
                break
        else:
            stem = f"{stem}{len(taken) + 1}"
        taken.add(stem + suffix)
        return stem + suffix, f"{_romanize(stem)} {suffix_en}"

    def _stem(self, level: str) -> str:
        pick = self.rng.choice
        if level == "street":
            return str(self.fake.street_name())
        if level == "town":
            return self.fake.last_name() + str(pick(["庄", "营", "寨", "店", "桥", "口"]))
        if level == "village":
            return self.fake.last_name() + str(pick(["家庄", "家村", "家营", "家屯", "家洼", "家坨"]))
        return self.fake.city_name() + str(pick(["里", "园", "苑", "新村", "花园", "家园"]))

    def _street(self, sid: str, spec: OfficeSpec, staff: int, taken: set[str]) -> None:
        u: UrbanSpec = self.scenario.urban
        name, name_en = self._name(taken, "street")
        name, name_en = spec.name or name, spec.name_en or (name_en if not spec.name else _romanize(spec.name))
        self.add(DISTRICT, sid, level="street", name=name, name_en=name_en, staff=staff, area="urban")
        households = max(1, round(spec.residents / u.persons_per_household))
        grids = parts_within(households, *u.households_per_grid, self.rng, f"{sid} households per grid")
        per_community = parts_within(len(grids), *u.grids_per_community, self.rng, f"{sid} grids per community")
        units_hh: list[int] = []
        unit_ids: list[str] = []
        community_names: set[str] = set()
        community_ids: list[str] = []
        g = 0
        for c, n_grids in enumerate(per_community, start=1):
            cid = f"{sid}/C{c}"
            cname, cname_en = self._name(community_names, "community")
            self.add(sid, cid, level="community", name=cname, name_en=cname_en, staff=u.community_staff, area="urban")
            community_ids.append(cid)
            for k in range(1, n_grids + 1):
                gid = f"{cid}/G{k}"
                self.add(
                    cid,
                    gid,
                    level="grid",
                    name=f"第{k}网格",
                    name_en=f"Grid {k}",
                    staff=u.grid_staff,
                    area="urban",
                    special="",
                )
                self._grid_units(gid, grids[g], units_hh, unit_ids)
                g += 1
        residents = split_by_weight(spec.residents, units_hh)
        for uid, hh, res in zip(unit_ids, units_hh, residents, strict=True):
            attrs = self.nodes[self.leaf_at[uid]][1]
            attrs["households"] = hh
            attrs["residents"] = res
        self._special_grids(spec, community_ids)

    def _grid_units(self, gid: str, households: int, units_hh: list[int], unit_ids: list[str]) -> None:
        u = self.scenario.urban
        per_unit = parts_within(households, *u.households_per_unit, self.rng, f"{gid} households per unit")
        per_building = parts_within(len(per_unit), *u.units_per_building, self.rng, f"{gid} units per building")
        k = 0
        for b, n_units in enumerate(per_building, start=1):
            bid = f"{gid}/B{b}"
            self.add(gid, bid, level="building", name=f"{b}号楼", name_en=f"Building {b}", area="urban")
            for un in range(1, n_units + 1):
                uid = f"{bid}/U{un}"
                self.leaf_at[uid] = len(self.nodes)
                self.add(bid, uid, level="unit", name=f"{un}单元", name_en=f"Unit {un}", area="urban")
                units_hh.append(per_unit[k])
                unit_ids.append(uid)
                k += 1

    def _special_grids(self, spec: OfficeSpec, community_ids: list[str]) -> None:
        u = self.scenario.urban
        count = round(u.special_grids_per_100k * spec.residents / 100_000)
        labels = {
            "enterprise": ("企业网格", "Enterprise grid"),
            "institution": ("事业单位网格", "Institution grid"),
            "school": ("学校网格", "School grid"),
        }
        for s in range(1, count + 1):
            cid = community_ids[int(self.rng.integers(len(community_ids)))]
            kind = SPECIAL_GRID_KINDS[int(self.rng.integers(len(SPECIAL_GRID_KINDS)))]
            members = int(self.rng.integers(u.special_grid_members[0], u.special_grid_members[1] + 1))
            zh, en = labels[kind]
            self.add(
                cid,
                f"{cid}/X{s}",
                level="grid",
                name=f"{zh}{s}",
                name_en=f"{en} {s}",
                staff=u.grid_staff,
                area="urban",
                special=kind,
                members=members,
                households=0,
                residents=0,
            )

    def _town(self, tid: str, spec: OfficeSpec, staff: int, taken: set[str]) -> None:
        r: RuralSpec = self.scenario.rural
        name, name_en = self._name(taken, "town")
        name, name_en = spec.name or name, spec.name_en or (name_en if not spec.name else _romanize(spec.name))
        self.add(DISTRICT, tid, level="town", name=name, name_en=name_en, staff=staff, area="rural")
        households = max(1, round(spec.residents / r.persons_per_household))
        villages = parts_within(households, *r.households_per_village, self.rng, f"{tid} households per village")
        rep_hh: list[int] = []
        rep_ids: list[str] = []
        village_names: set[str] = set()
        for v, hh in enumerate(villages, start=1):
            vid = f"{tid}/V{v}"
            vname, vname_en = self._name(village_names, "village")
            self.add(
                tid,
                vid,
                level="village",
                name=vname,
                name_en=vname_en,
                staff=r.village_staff,
                area="rural",
                large=hh >= r.large_village_households,
            )
            per_rep = parts_within(
                hh, *r.households_per_representative, self.rng, f"{vid} households per representative"
            )
            per_member = parts_within(
                len(per_rep), *r.representatives_per_member, self.rng, f"{vid} representatives per member"
            )
            lo, hi = r.grids_large_village if hh >= r.large_village_households else r.grids_small_village
            n_grids = int(self.rng.integers(lo, hi + 1))
            if n_grids > len(per_member):
                raise StructureError(
                    f"{vid}: {len(per_member)} committee member(s) cannot staff {n_grids} grids; "
                    "lower the grids per village or the representatives per member"
                )
            members_per_grid = _exactly(len(per_member), n_grids, self.rng)
            m = 0
            k = 0
            for gi, n_members in enumerate(members_per_grid, start=1):
                gid = f"{vid}/G{gi}"
                self.add(
                    vid,
                    gid,
                    level="grid",
                    name=f"第{gi}网格",
                    name_en=f"Grid {gi}",
                    staff=r.grid_staff,
                    area="rural",
                    special="",
                )
                for mi in range(1, n_members + 1):
                    mid = f"{gid}/M{mi}"
                    person, person_en = self._resident()
                    self.add(gid, mid, level="committee_member", name=person, name_en=person_en, area="rural")
                    for ri in range(1, per_member[m] + 1):
                        rid = f"{mid}/R{ri}"
                        person, person_en = self._resident()
                        self.leaf_at[rid] = len(self.nodes)
                        self.add(mid, rid, level="representative", name=person, name_en=person_en, area="rural")
                        rep_hh.append(per_rep[k])
                        rep_ids.append(rid)
                        k += 1
                    m += 1
        residents = split_by_weight(spec.residents, rep_hh)
        for rid, hh, res in zip(rep_ids, rep_hh, residents, strict=True):
            attrs = self.nodes[self.leaf_at[rid]][1]
            attrs["households"] = hh
            attrs["residents"] = res

    def _resident(self) -> tuple[str, str]:
        name = self.fake.name()
        return name, _romanize(name, person=True)


def _exactly(total: int, n: int, rng: np.random.Generator) -> list[int]:
    """Split ``total`` into exactly ``n`` parts of at least one each, at random."""
    cuts = np.sort(rng.choice(np.arange(1, total), size=n - 1, replace=False)) if n > 1 else np.array([], dtype=int)
    edges = np.concatenate(([0], cuts, [total]))
    return [int(x) for x in np.diff(edges)]


def _sum_up(graph: nx.DiGraph[str]) -> None:
    """Give every node the households and residents of its subtree (leaves already carry theirs)."""
    for node in reversed(list(nx.dfs_preorder_nodes(graph, DISTRICT))):
        attrs = graph.nodes[node]
        kids = list(graph.successors(node))
        if kids:
            attrs["households"] = sum(graph.nodes[k].get("households", 0) for k in kids)
            attrs["residents"] = sum(graph.nodes[k].get("residents", 0) for k in kids)
        else:
            attrs.setdefault("households", 0)
            attrs.setdefault("residents", 0)
