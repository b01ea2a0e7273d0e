"""Shared pieces of the CLI: options every scenario command takes, output helpers, error exit."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from sim import limits
from sim.errors import MicrogovError, ScenarioError, StructureError

if TYPE_CHECKING:
    from sim.scenario import Scenario
    from sim.structure import District

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a scenario value, e.g. [bold]--set staffing.per_office=50[/]; repeatable.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
ScenarioArg = Annotated[
    Path,
    typer.Argument(metavar="FILE", help="Scenario file (TOML).", show_default=False),
]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class OptionError(MicrogovError):
    """A command-line option or argument that is not valid (a usage error, in Click's words)."""


def fail(exc: MicrogovError) -> NoReturn:
    from sim.visible import visible

    for line in str(exc).splitlines() or ["error"]:
        sys.stderr.write(f"error: {visible(line)}\n")
    sys.stderr.flush()
    raise SystemExit(exc.exit_code)


def warn(text: str) -> None:
    """One ``warning:`` line on stderr (never wrapped: scripts read it whole)."""
    err.print(f"[yellow]warning:[/] {text}", soft_wrap=True)


def usage_error(message: str, hint: str | None, command: str) -> NoReturn:
    """A bad option or argument as one line: which one, what is wrong, where to read about it."""
    text = " ".join(message.split()).rstrip(".")
    text = text[:1].lower() + text[1:] if text[1:2].islower() else text
    head = f"{hint}: " if hint else ""
    fail(OptionError(f"{head}{text} (see {command} --help)"))


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def print_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable)
    # a lone surrogate (from an undecodable file name) as the JSON escape it stands for
    sys.stdout.write(_SURROGATE.sub(lambda m: ascii(m.group())[1:-1], text) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.1%}"


def table(title: str, *columns: str, right_from: int = 1, wrap_first: bool = False) -> Table:
    """A compact report table; columns from ``right_from`` on are right-aligned (numbers). With
    ``wrap_first`` the first column (labels) wraps on a narrow terminal instead of cutting numbers."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold", pad_edge=False)
    for i, col in enumerate(columns):
        t.add_column(col, justify="right" if i >= right_from else "left", no_wrap=not (wrap_first and i == 0))
    return t


# --- option values: parsed and checked against the limits every way in shares ---------------------------


def _show(text: str) -> str:
    return repr(limits.visible(text)) if text.strip() != text or not text else limits.visible(text)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def number(
    what: str, *, gt: float | None = None, ge: float | None = None, le: float | None = None
) -> Callable[[str | float], float]:
    """A parser for a finite number within bounds: ``--days 1e308`` and ``--warmup-days nan`` are refused
    with the range, not carried into a run."""
    parts = [f"> {_num(gt)}" if gt is not None else "", f"≥ {_num(ge)}" if ge is not None else ""]
    parts.append(f"≤ {_num(le)}" if le is not None else "")
    wanted = f"{what} ({' and '.join(p for p in parts if p)})" if any(parts) else what

    def parse(text: str | float) -> float:
        if isinstance(text, float | int):
            return float(text)
        try:
            if "_" in text:
                raise ValueError(text)
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"expected {wanted}, found {_show(text)}") from None
        inside = math.isfinite(value) and (gt is None or value > gt) and (ge is None or value >= ge)
        if not inside or (le is not None and value > le):
            raise typer.BadParameter(f"expected {wanted}, found {_show(text)}")
        return value

    parse.__name__ = "number"
    return parse


def whole(what: str, *, ge: int | None = None, le: int | None = None) -> Callable[[str | int], int]:
    """A parser for a whole number within bounds (digits only: no 1e3, no 0x10, no 1_000)."""
    bounds = [f"≥ {ge:,}" if ge is not None else "", f"≤ {le:,}" if le is not None else ""]
    wanted = f"{what} ({' and '.join(b for b in bounds if b)})" if any(bounds) else what

    def parse(text: str | int) -> int:
        if isinstance(text, int):
            return text
        digits = text.strip(" \t")
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", digits):
            raise typer.BadParameter(f"expected {wanted}, found {_show(text)}")
        value = int(digits)
        if (ge is not None and value < ge) or (le is not None and value > le):
            raise typer.BadParameter(f"expected {wanted}, found {_show(text)}")
        return value

    parse.__name__ = "whole"
    return parse


def output_path(path: Path | None, option: str, inputs: Iterable[Path] = (), *, folder: bool = False) -> None:
    """Refuse an output path before any work: the input itself, a system folder, an unwritable place."""
    if path is None:
        return
    problem = limits.output_problem(path, [Path(p) for p in inputs], folder=folder)
    if problem:
        raise OptionError(f"{option} {path}: {problem}")


Days = Annotated[
    float | None,
    typer.Option(
        "--days",
        "-d",
        help="Simulated days (default: the scenario's clock.days).",
        parser=number("a number of days", gt=0, le=limits.MAX_DAYS),
        show_default=False,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Random seed (default: the scenario's seed).",
        parser=whole("a seed", ge=0, le=limits.MAX_SEED),
        show_default=False,
    ),
]


def build_checked(scenario: Scenario, file: Path) -> District:
    """Build the scenario's district and refuse scripted incidents or a training post at nodes it does
    not have, before anything runs."""
    from dataclasses import replace

    from sim.scenario.sense import node_problems
    from sim.structure import build_district

    try:
        district = build_district(scenario)
    except StructureError as exc:
        raise StructureError(f"{file}: {exc}") from None
    graph = district.graph
    found = node_problems(scenario, lambda node: str(graph.nodes[node]["level"]) if node in graph else None)
    if found:
        raise ScenarioError([replace(p, source=str(file)) for p in found])
    return district
