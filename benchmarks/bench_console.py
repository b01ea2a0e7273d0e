"""The console's responsiveness, beside references measured in the same run.

(a) Cold start to first frame: a fresh process that imports the command, builds the console on the
    default scenario and exits as soon as the first frame is drawn (headless), against a bare Textual
    app doing the same (target: at most 1.5 s).
(b) With 100,000 open requests in the queue: time to answer a keypress (page down, a filter character)
    in the virtualised queue, against a Textual DataTable holding the same rows (target: within 100 ms).

Run: ``.venv/bin/python benchmarks/bench_console.py``
"""

from __future__ import annotations

import asyncio
import statistics
import time

import numpy as np
from _measure import measure
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from console.widgets import QueueRow, QueueView

CONSOLE = (
    "import time; t0 = time.perf_counter();"
    "import sim.cli; from console.command import console; from console.app import make_app\n"
    "from pathlib import Path\n"
    "app = make_app(Path('scenarios/haigang-2020.toml'), None, 'en', mode='structure')\n"
    "app.call_after_refresh(lambda: (print(time.perf_counter() - t0), app.exit()))\n"
    "app.run(headless=True)"
)
BARE = (
    "import time; t0 = time.perf_counter()\n"
    "from textual.app import App\nfrom textual.widgets import Static\n"
    "class A(App):\n    def compose(self):\n        yield Static('hello')\n"
    "a = A(); a.call_after_refresh(lambda: (print(time.perf_counter() - t0), a.exit())); a.run(headless=True)"
)

N = 100_000
POSTS = [f"S{s}/C{c}/G{g}" for s in range(1, 10) for c in range(1, 12) for g in range(1, 12)]
CATEGORIES = ["street_light", "drain_sewage", "noise", "sanitation", "property_management", "neighbour_dispute"]


def rows() -> list[QueueRow]:
    rng = np.random.default_rng(0)
    arrived = rng.uniform(0, 168, N)
    prios = rng.choice(["special", "urgent", "ordinary"], N, p=[0.01, 0.2, 0.79])
    return [
        QueueRow(
            i,
            POSTS[i % len(POSTS)],
            str(prios[i]),
            CATEGORIES[i % len(CATEGORIES)],
            "waiting",
            float(arrived[i]),
            float(arrived[i] + 168),
        )
        for i in range(N)
    ]


class QueueApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        yield QueueView(id="queue")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="table")


async def press_times(app: App[None], keys: list[str], focus: str) -> list[float]:
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.query_one(focus).focus()
        await pilot.pause()
        for key in keys:
            start = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            times.append(time.perf_counter() - start)
    return times


async def queue_latency(data: list[QueueRow]) -> dict[str, float]:
    app = QueueApp()
    scroll: list[float] = []
    typing: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        queue = app.query_one(QueueView)
        start = time.perf_counter()
        queue.set_rows(data)
        load = time.perf_counter() - start
        queue.focus()
        await pilot.pause()
        for _ in range(20):
            start = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            scroll.append(time.perf_counter() - start)
        box = app.query_one(Input)
        box.focus()
        for ch in "drain":
            start = time.perf_counter()
            await pilot.press(ch)
            queue.set_filter(box.value)
            await pilot.pause()
            typing.append(time.perf_counter() - start)
    return {
        "load": load,
        "scroll_median": statistics.median(scroll),
        "scroll_max": max(scroll),
        "filter_median": statistics.median(typing),
        "filter_max": max(typing),
        "shown": float(queue.count),
    }


async def idle_latency() -> float:
    """What the test harness itself adds to a keypress: an unbound key on an empty app."""
    app = TableApp()
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(20):
            start = time.perf_counter()
            await pilot.press("x")
            await pilot.pause()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


async def table_latency(data: list[QueueRow]) -> dict[str, float]:
    app = TableApp()
    scroll: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(DataTable)
        start = time.perf_counter()
        table.add_columns("post", "priority", "category", "state", "arrived", "due")
        table.add_rows(
            [(r.post, r.priority, r.category, r.state, f"{r.arrived_h:.1f}", f"{r.due_h:.1f}") for r in data]
        )
        await pilot.pause()
        load = time.perf_counter() - start
        table.focus()
        for _ in range(20):
            start = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            scroll.append(time.perf_counter() - start)
    return {"load": load, "scroll_median": statistics.median(scroll), "scroll_max": max(scroll)}


def main() -> dict[str, float]:
    console = min(float(measure(CONSOLE).stdout.split()[-1]) for _ in range(3))
    bare = min(float(measure(BARE).stdout.split()[-1]) for _ in range(3))
    print("console: cold start to first frame (best of 3, fresh processes)")
    print(f"  console {console:.2f} s, a bare Textual app {bare:.2f} s ({console / bare:.1f}x); target ≤ 1.5 s")
    data = rows()
    idle = asyncio.run(idle_latency())
    q = asyncio.run(queue_latency(data))
    t = asyncio.run(table_latency(data))

    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    def net(x: float) -> str:
        return ms(max(0.0, x - idle))

    print(f"console: {N:,} open requests in the queue (a keypress on an empty app: {ms(idle)})")
    print(
        f"  virtualised queue: loaded in {q['load']:.2f} s; page down {ms(q['scroll_median'])} median, "
        f"{ms(q['scroll_max'])} worst; a filter keystroke {ms(q['filter_median'])} median, {ms(q['filter_max'])} worst"
    )
    print(
        f"    less the harness's {ms(idle)}: page down {net(q['scroll_median'])} median, {net(q['scroll_max'])} "
        f"worst; filter {net(q['filter_median'])} median, {net(q['filter_max'])} worst (target ≤ 100 ms)"
    )
    print(
        f"  DataTable reference: loaded in {t['load']:.2f} s; page down {ms(t['scroll_median'])} median, "
        f"{ms(t['scroll_max'])} worst"
    )
    return {
        "cold_start_s": console,
        "bare_start_s": bare,
        "idle_keypress_s": idle,
        **{f"queue_{k}": v for k, v in q.items()},
        **{f"table_{k}": v for k, v in t.items()},
    }


if __name__ == "__main__":
    main()
