"""A progress bar on stderr for long work, shown only to a person at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(description: str, total: float = 1.0, *, count: bool = False) -> Iterator[Callable[..., None]]:
    """Yield ``update(done, total=None, description=None)``; ``done`` runs up to ``total`` (which may
    change as work is added), and ``description`` names the step under way. Silent when stderr is not a
    terminal."""
    if not sys.stderr.isatty():
        yield lambda done, total=None, description=None: None
        return
    columns = [TextColumn("{task.description}"), BarColumn()]
    columns.append(MofNCompleteColumn() if count else TextColumn("{task.percentage:>3.0f}%"))
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def update(done: float, new_total: float | None = None, description: str | None = None) -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            if description is not None:
                bar.update(task, description=description)
            bar.update(task, completed=done)

        yield update
