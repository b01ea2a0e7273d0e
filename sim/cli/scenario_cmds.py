"""``microgov check`` and ``microgov structure``: validate a scenario, describe the district it builds."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import tomli_w
import typer
from rich.markup import escape

from sim.cli.common import JsonOption, ScenarioArg, SetOption, build_checked, out, pct, print_json, table
from sim.scenario import load_scenario

if TYPE_CHECKING:
    from sim.analysis.brief import Figure


def check(
    file: ScenarioArg,
    overrides: SetOption = None,
    dump: Annotated[
        bool, typer.Option("--dump", help="Print the scenario with its extends chain, defaults and --set applied.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate a scenario file (and its [bold]extends[/] chain and [bold]--set[/] overrides) without running it.

    Besides each field, it checks that a run would mean something (someone on duty wherever requests
    go, departments for the categories that need them, scripted incidents inside the run and at nodes
    the district has, a district this machine can build) and builds the district once. Exit status 0
    when valid; otherwise one line per problem naming the file, line, field, what was expected and what
    was found, and exit status 2.

    [dim]Examples:
      microgov check scenarios/haigang-2020.toml --set staffing.per_office=50
      microgov check scenarios/haigang-2020.toml --dump > resolved.toml[/]
    """
    sc = load_scenario(file, overrides or [])
    if dump:
        sys.stdout.write(tomli_w.dumps(_without_none(sc.model_dump(mode="python"))))
        return
    district = build_checked(sc, file)
    summary = {
        "file": str(file),
        "name": sc.name,
        "streets": len(sc.streets),
        "towns": len(sc.towns),
        "departments": len(sc.departments),
        "nodes": district.graph.number_of_nodes(),
        "valid": True,
    }
    if as_json:
        print_json(summary)
        return
    out.print(
        f"[green]ok[/] {escape(str(file))}: {escape(sc.name)} ({_n(len(sc.streets), 'street')}, "
        f"{_n(len(sc.towns), 'town')}, {_n(len(sc.departments), 'department')}; {summary['nodes']:,} nodes)"
    )


def _n(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def _without_none(value: Any) -> Any:
    """TOML has no null: leave unset optional values out."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


def structure(file: ScenarioArg, overrides: SetOption = None, as_json: JsonOption = False) -> None:
    """Build the governance graph of a scenario and compare its figures with the brief's.

    Counts per level, neighbourhood groups (urban and rural), residents, households, and every street
    and town office with its staff and residents per staff member.

    [dim]Example: microgov structure scenarios/haigang-2020.toml --json[/]
    """
    from sim.analysis.brief import structure_figures
    from sim.structure import TIER

    sc = load_scenario(file, overrides or [])
    district = build_checked(sc, file)
    g = district.graph
    levels = Counter(str(a["level"]) for _, a in g.nodes(data=True))
    offices = []
    for node in district.offices():
        a = g.nodes[node]
        staff = int(a["staff"])
        offices.append(
            {
                "id": node,
                "level": a["level"],
                "name": a["name"],
                "name_en": a["name_en"],
                "residents": a["residents"],
                "households": a["households"],
                "staff": staff,
                "residents_per_staff": round(int(a["residents"]) / staff, 1) if staff else None,
            }
        )
    figures = structure_figures(district)
    total_staff = sum(o["staff"] for o in offices)
    data = {
        "scenario": sc.name,
        "levels": {lv: levels.get(lv, 0) for lv in TIER},
        "groups": district.group_count(),
        "residents": g.nodes["district"]["residents"],
        "households": g.nodes["district"]["households"],
        "staff": {o["id"]: o["staff"] for o in offices},
        "residents_per_staff": {o["id"]: o["residents_per_staff"] for o in offices},
        "office_staff_total": total_staff,
        "department_staff": {d: g.nodes[d]["staff"] for d in district.departments()},
        "offices": offices,
        "brief": [
            {"figure": f.key, "value": f.value, "brief": f.brief, "deviation": f.deviation, "within_15pct": f.within}
            for f in figures
        ],
    }
    if as_json:
        print_json(data)
        return
    _print_structure(sc.name, str(file), data, figures)


def _print_structure(name: str, file: str, data: dict[str, Any], figures: list[Figure]) -> None:
    levels = table(f"{name}: levels", "level", "nodes")
    for lv, n in data["levels"].items():
        if n:
            levels.add_row(lv, f"{n:,}")
    out.print(levels)

    brief = table("Beside the brief", "figure", "this scenario", "brief", "deviation")
    for f in figures:
        ok = "" if f.within is None else ("[green]✓[/]" if f.within else "[red]✗[/]")
        brief.add_row(
            f.label,
            f"{f.value:,.0f}",
            "–" if f.brief is None else f"{f.brief:,.0f}",
            f"{pct(f.deviation)} {ok}".strip(),
        )
    out.print(brief)

    offices = table("Street and town offices", "id", "name", "", "residents", "staff", "per staff", right_from=3)
    for o in data["offices"]:
        rps = "–" if o["residents_per_staff"] is None else f"{o['residents_per_staff']:,.0f}"
        offices.add_row(o["id"], o["name"], f"[dim]{o['name_en']}[/]", f"{o['residents']:,}", str(o["staff"]), rps)
    offices.add_section()
    offices.add_row("", "all", "", f"{data['residents']:,}", str(data["office_staff_total"]), "")
    out.print(offices)
    out.print(f"[dim]{file}[/]")


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(structure)
