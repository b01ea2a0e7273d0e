"""Scoring a training shift, and its after-action report (Markdown and a PNG timeline).

A shift is scored on the requests that reached the trainee's desk during the shift (and those waiting
there when it began), on what whoever played the desk did with them before the shift ended (every
action logged by then, those taken with the clock paused included), after the simulation has run on
``follow_up_days`` to see what became of them:

- **response**: answered within the response deadline, by the desk (or after a decision the desk took
  on it: an escalation answered above in time), of those that reached the desk unanswered; a request
  the desk never touched is a miss, whoever answered it after the shift;
- **resolution**: fixed within the resolution deadline after a decision the desk took on it (settling
  what could not be settled at the post closes a request without fixing it: the resident raises it
  again); a request with nothing decided on it during the shift is a miss, whatever the post's staff
  did with it after the shift;
- **routing**: settles, passes and returns that were right (settled what the post could settle, passed
  to the department that deals with it, sent down what the post below could settle), out of those
  taken and the requests left at the desk with nothing decided on them when the shift ended;
- **whistles**: whistles that were called for (two departments, a special request, or one overdue at
  the office) and summoned every department needed, out of the whistles blown and the passes where
  the whistle was called for;
- **escalations**: escalations of requests the post could neither settle nor pass on.

Each part is a share (a part with nothing to judge counts as full marks); the score is their weighted
mean out of 100, weights from the scenario's ``[training.scoring]``. The engine's own policy at the same
post, on the same seed and arrivals, is scored the same way: that is the trainee's yardstick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.engine.watch import Decision, DeskRecord
from sim.scenario.schema import PRIORITIES, ScoringSpec

PARTS = ("response", "resolution", "routing", "whistles", "escalations")
ROUTING = ("settle", "pass", "return")
WHISTLES = ("whistle", "whistle-missed")


@dataclass(frozen=True)
class Part:
    name: str
    weight: float
    judged: int
    right: int
    untouched: int = 0
    """Of those judged, how many the desk never touched during the shift (all of them wrong)."""

    @property
    def rate(self) -> float | None:
        return self.right / self.judged if self.judged else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "judged": self.judged,
            "right": self.right,
            "rate": self.rate,
            "untouched": self.untouched,
        }


@dataclass(frozen=True)
class Score:
    parts: tuple[Part, ...]
    requests: int

    @property
    def total(self) -> float:
        weights = sum(p.weight for p in self.parts)
        if not weights:
            return 100.0
        return 100.0 * sum(p.weight * (1.0 if p.rate is None else p.rate) for p in self.parts) / weights

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "requests": self.requests, "parts": {p.name: p.as_dict() for p in self.parts}}


def desk_decisions(decisions: Iterable[Decision], shift_end_h: float, *, person: bool) -> list[Decision]:
    """The decisions of whoever played the desk during the shift that ended at ``shift_end_h``, its end
    included (an action taken with the clock paused at the end is the shift's): the person's own
    (``person``; the post's staff decide on what the person left after the shift, and that is not the
    person's), or the post's policy's (the engine's yardstick run)."""
    return [d for d in decisions if d.person == person and d.at <= shift_end_h]


def score(
    desk: dict[int, DeskRecord], decisions: Iterable[Decision], weights: ScoringSpec, shift_end_h: float, end_h: float
) -> Score:
    """Score the requests of a desk and ``decisions``, those of whoever played it during the shift that
    ended at ``shift_end_h`` (:func:`desk_decisions`), judging resolution as of ``end_h`` (requests not
    due by then and still open are not judged)."""
    records = list(desk.values())
    taken = [d for d in decisions if d.at <= shift_end_h]
    decided = {d.id for d in taken}
    answer = [r for r in records if not r.answered_before]
    touched = [r for r in answer if r.answered_here or r.id in decided]
    answered = sum(1 for r in touched if 0 <= r.responded <= r.resp_due)
    due = [r for r in records if r.res_due <= end_h or r.closed >= 0]
    fixed = sum(
        1 for r in due if r.id in decided and r.closed >= 0 and r.fixed and not r.abandoned and r.closed <= r.res_due
    )

    def share(kinds: Sequence[str]) -> tuple[int, int]:
        chosen = [d for d in taken if d.kind in kinds]
        return len(chosen), sum(1 for d in chosen if d.right)

    # a request still at the desk when the shift ended, nothing decided on it, is a routing not done
    left = sum(1 for r in records if r.id not in decided and not 0 <= r.closed <= shift_end_h)
    routed, routed_right = share(ROUTING)
    counts = {
        "response": (len(answer), answered, len(answer) - len(touched)),
        "resolution": (len(due), fixed, sum(1 for r in due if r.id not in decided)),
        "routing": (routed + left, routed_right, left),
        "whistles": (*share(WHISTLES), 0),
        "escalations": (*share(("escalate",)), 0),
    }
    parts = tuple(Part(name, float(getattr(weights, name)), *counts[name]) for name in PARTS)
    return Score(parts, len(records))


# --- the after-action report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Briefing:
    """What the report says about the shift itself."""

    scenario: str
    post: str
    post_name: str
    trainee: str
    start: dt.datetime
    hours: float
    speed: float
    desk_share: float
    follow_up_days: float
    seed: int
    wall_minutes: float
    written_for: str = ""
    """The post the scenario was written for, when played at another (``train --as``)."""


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.0f}%"


def _part_line(name: str, mine: Part, theirs: Part) -> str:
    return (
        f"| {name} | {mine.right} of {mine.judged} ({_pct(mine.rate)}) | {theirs.right} of {theirs.judged} "
        f"({_pct(theirs.rate)}) | {mine.weight:g} |"
    )


def lessons(mine: Score, theirs: Score, decisions: Sequence[Decision]) -> list[str]:
    """Plain-language points for the debrief, worst part first."""
    out = []

    def rate(part: Part) -> float:
        return 1.0 if part.rate is None else part.rate

    gaps = sorted((rate(theirs.part(n)) - rate(mine.part(n)), n) for n in PARTS if mine.part(n).judged)
    for gap, name in reversed(gaps):
        if gap <= 0.005:
            continue
        part = mine.part(name)
        not_right = part.judged - part.right
        if name == "response":
            aside = f" ({part.untouched} never touched during the shift)" if part.untouched else ""
            out.append(
                f"{not_right} of {part.judged} requests were not answered within their response deadline{aside}."
            )
        elif name == "resolution":
            aside = f" ({part.untouched} with nothing decided on them during the shift)" if part.untouched else ""
            out.append(f"{not_right} of {part.judged} requests were not fixed within their resolution deadline{aside}.")
        elif name == "routing":
            routed = [d for d in decisions if d.kind in ROUTING]
            wrongly = [d.kind for d in routed if not d.right]
            left = part.judged - len(routed)
            why = [f"{len(wrongly)} wrong ({', '.join(sorted(set(wrongly)))})"] if wrongly else []
            if left > 0:
                why.append(f"{left} left at the desk with nothing decided when the shift ended")
            out.append(f"{not_right} of {part.judged} requests were not routed right: {'; '.join(why)}.")
        elif name == "whistles":
            missed = sum(1 for d in decisions if d.kind == "whistle-missed")
            blown = sum(1 for d in decisions if d.kind == "whistle" and not d.right)
            why = []
            if missed:
                why.append(
                    f"{missed} passed on that needed the whistle (two departments, a special request, "
                    "or one overdue at the office)"
                )
            if blown:
                why.append(f"{blown} whistled that did not need it or left out a department it needed")
            out.append(f"{not_right} of {part.judged} whistle decisions were off: {'; '.join(why)}.")
        else:
            out.append(f"{not_right} of {part.judged} escalations were of requests the post could settle or pass on.")
    if not out:
        out.append("Every part matched or beat the engine's own policy at this post.")
    return out


def write_report(
    folder: Path,
    brief: Briefing,
    mine: Score,
    theirs: Score,
    *,
    desk: dict[int, DeskRecord],
    decisions: Sequence[Decision],
    engine_desk: dict[int, DeskRecord],
    actions: Sequence[dict[str, Any]],
    injects: Sequence[tuple[float, str]],
    start_h: float,
    labels: dict[int, str] | None = None,
) -> Path:
    """Write ``report.md`` and ``timeline.png`` into ``folder``; returns the Markdown file's path.
    ``labels`` names the desk's requests as the trainee knew them (their store ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    png = timeline_plot(
        folder / "timeline.png", desk, decisions, engine_desk, injects, start_h, brief.hours, labels or {}
    )
    end = brief.start + dt.timedelta(hours=brief.hours)
    lines = [
        f"# After-action report: {brief.trainee} at {brief.post} ({brief.post_name})",
        "",
        f"- Scenario: {brief.scenario} (seed {brief.seed})",
        *(
            [f"- Played at {brief.post}, written for {brief.written_for}: its scripted incidents moved with the post"]
            if brief.written_for and brief.written_for != brief.post
            else []
        ),
        f"- Shift: {brief.start:%Y-%m-%d %H:%M} to {end:%H:%M} ({_duration(brief.hours)} simulated at"
        f" {brief.speed:g}×; {brief.wall_minutes:.0f} min of real time from start to finish)",
        f"- Desk: {_pct(brief.desk_share)} of the post's requests; outcomes followed for {brief.follow_up_days:g}"
        " days after the shift",
        f"- Requests at the desk: {mine.requests} (engine policy: {theirs.requests})",
        "",
        "## Score",
        "",
        f"**{mine.total:.0f} / 100** (the engine's own policy at this post, same seed and arrivals:"
        f" {theirs.total:.0f} / 100)",
        "",
        "| part | trainee | engine policy | weight |",
        "|---|---|---|---:|",
        *[_part_line(p.name, p, theirs.part(p.name)) for p in mine.parts],
        "",
        "A part with nothing to judge counts as full marks. See the README (Train mode) for what each part counts.",
        "",
        "## Points for the debrief",
        "",
        *[f"- {text}" for text in lessons(mine, theirs, decisions)],
        "",
        "## Timeline",
        "",
        f"![timeline]({png.name})",
        "",
    ]
    if injects:
        lines += ["## Scripted incidents", "", "| at | incident |", "|---|---|"]
        lines += [f"| {brief.start + dt.timedelta(hours=t - start_h):%H:%M} | {text} |" for t, text in injects]
        lines.append("")
    lines += ["## The trainee's actions", ""]
    if actions:
        lines += ["| time | request | action | to | note | result |", "|---|---:|---|---|---|---|"]
        for a in actions:
            note = str(a.get("note", "")).replace("|", "/")[:60]
            result = a.get("result", "")
            lines.append(f"| {a['time']} | #{a['request']} | {a['action']} | {a.get('to', '')} | {note} | {result} |")
    else:
        lines.append("None.")
    lines.append("")
    path = folder / "report.md"
    tmp = path.with_suffix(".md.part")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


MARKERS = {
    "settle": ("o", "settled"),
    "pass": (">", "passed"),
    "whistle": ("*", "whistle"),
    "escalate": ("^", "escalated"),
    "return": ("v", "returned"),
}


def waiting_curve(desk: dict[int, DeskRecord], start_h: float, hours: float, steps: int = 200) -> tuple[Any, Any]:
    """Requests at the desk still unanswered, over the shift."""
    import numpy as np

    t = np.linspace(start_h, start_h + hours, steps)
    at = np.array([r.at for r in desk.values()])
    answered = np.array([r.responded if r.responded >= 0 else np.inf for r in desk.values()])
    before = np.array([r.answered_before for r in desk.values()])
    if not len(at):
        return t, np.zeros_like(t)
    waiting = ((at[None, :] <= t[:, None]) & (answered[None, :] > t[:, None]) & ~before[None, :]).sum(axis=1)
    return t, waiting


PRIORITY_COLOURS = {0: "#b2182b", 1: "#ef8a62", 2: "#4d4d4d"}
"""The colour of a request's line by priority (special, urgent, ordinary)."""
RIGHT, WRONG, INCIDENT, DEADLINE = "#1a9850", "#d73027", "#7570b3", "#888888"


def timeline_figure(
    desk: dict[int, DeskRecord],
    decisions: Sequence[Decision],
    engine_desk: dict[int, DeskRecord],
    injects: Sequence[tuple[float, str]],
    start_h: float,
    hours: float,
    labels: dict[int, str],
) -> Any:
    """One line per request at the desk (from its arrival to its close, coloured by priority; its response
    deadline, when it was answered, and the trainee's decisions, green when right and red when wrong),
    scripted incidents as dashed lines with their text, and below it the requests waiting for an answer,
    the trainee's beside the engine policy's. Every colour and marker is in the legend; nothing drawn at
    the shift's edges is cut (the time axis has a margin on both sides)."""
    import textwrap

    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from sim.experiment.report import pyplot

    plt = pyplot()
    hours = max(hours, 1.0 / 60.0)  # a shift ended at once still gets an axis
    end_h = start_h + hours
    records = sorted(desk.values(), key=lambda r: (r.at, r.id))[:60]
    row_of = {r.id: i for i, r in enumerate(records)}
    height = 2.5 + 0.16 * max(len(records), 10)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, height + 2.2), sharex=True, gridspec_kw={"height_ratios": [height, 2.2]}
    )
    handles: dict[str, Any] = {}
    for r in records:
        y = row_of[r.id]
        left = max(r.at, start_h) - start_h
        right = (min(r.closed, end_h) if r.closed >= 0 else end_h) - start_h
        colour = PRIORITY_COLOURS[r.prio]
        top.plot([left, right], [y, y], color=colour, linewidth=1.2, alpha=0.7)
        handles.setdefault(f"p{r.prio}", Line2D([], [], color=colour, label=f"{PRIORITIES[r.prio]} request"))
        if start_h <= r.resp_due <= end_h and not r.answered_before:
            top.plot(r.resp_due - start_h, y, marker="|", color=DEADLINE, markersize=8)
            handles.setdefault(
                "due", Line2D([], [], color=DEADLINE, marker="|", markersize=8, ls="none", label="response deadline")
            )
        if r.responded >= 0 and not r.answered_before and r.responded <= end_h:
            on_time = r.responded <= r.resp_due
            colour = RIGHT if on_time else WRONG
            top.plot(r.responded - start_h, y, marker=".", color=colour, markersize=7)
            key = "answered on time" if on_time else "answered late"
            handles.setdefault(key, Line2D([], [], color=colour, marker=".", markersize=7, ls="none", label=key))
    for d in decisions:
        if d.id not in row_of or d.kind not in MARKERS or d.at > end_h:
            continue
        marker, label = MARKERS[d.kind]
        key = f"{label} ({'right' if d.right else 'wrong'})"
        colour = RIGHT if d.right else WRONG
        top.plot(d.at - start_h, row_of[d.id], marker=marker, linestyle="none", color=colour, markersize=8)
        handles.setdefault(key, Line2D([], [], color=colour, marker=marker, markersize=8, ls="none", label=key))
    for number, (t, text) in enumerate(injects, start=1):
        x = t - start_h
        for ax in (top, bottom):
            ax.axvline(x, color=INCIDENT, linestyle="--", linewidth=1)
        # the line carries its number; the text goes in the legend, where texts never overlap
        top.annotate(
            str(number),
            (x, 0.995),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            va="top",
            fontsize=8,
            fontweight="bold",
            color=INCIDENT,
        )
        at = f"{int((t - start_h) * 60) // 60}:{int((t - start_h) * 60) % 60:02d}"
        wrapped = "\n".join(textwrap.wrap(f"{number}. at {at}: {text}", 34, max_lines=3, placeholder="…"))
        handles[f"incident {number}"] = Line2D([], [], color=INCIDENT, linestyle="--", linewidth=1, label=wrapped)
    top.set_ylim(len(records) + 0.5, -1.5)
    top.set_yticks(range(len(records)))
    top.set_yticklabels([labels.get(r.id, f"{PRIORITIES[r.prio]}") for r in records], fontsize=6)
    top.set_title("Requests at the desk, from arrival to close")
    order = ["p0", "p1", "p2", "due", "answered on time", "answered late"]
    shown = [handles[k] for k in order if k in handles] + [h for k, h in handles.items() if k not in order]
    if shown:
        top.legend(handles=shown, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    top.grid(axis="x", alpha=0.3)
    for label, data in (("trainee", desk), ("engine policy", engine_desk)):
        t, waiting = waiting_curve(data, start_h, hours)
        bottom.step(t - start_h, waiting, where="post", label=label)
    bottom.set_ylim(bottom=0)
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    bottom.set_ylabel("unanswered")
    bottom.set_xlabel("hours into the shift")
    bottom.set_xlim(-0.02 * hours, 1.02 * hours)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    bottom.grid(alpha=0.3)
    return fig


def timeline_plot(
    path: Path,
    desk: dict[int, DeskRecord],
    decisions: Sequence[Decision],
    engine_desk: dict[int, DeskRecord],
    injects: Sequence[tuple[float, str]],
    start_h: float,
    hours: float,
    labels: dict[int, str],
) -> Path:
    """Write :func:`timeline_figure` to ``path``."""
    from sim.experiment.report import save_figure

    return save_figure(timeline_figure(desk, decisions, engine_desk, injects, start_h, hours, labels), path)
