"""Shared pieces of the CLI: options every scenario command takes, output helpers, error exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from sim.errors import MicrogovError

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


def fail(exc: MicrogovError) -> NoReturn:
    from sim.visible import visible

    for line in str(exc).splitlines() or ["error"]:
        sys.stderr.write(f"error: {visible(line)}\n")
    sys.stderr.flush()
    raise SystemExit(exc.exit_code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable) + "\n")


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
