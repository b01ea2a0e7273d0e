"""Limits on what comes in, in one place: sizes, depths, ranges, and which paths may be read or written.

Like the counter of a records office that weighs every parcel before it is opened, each way into
microgov (scenario files, ``--set`` values, command options, intake files, imported logs) checks its
input against these limits before any work is done, and says which limit and by how much. The scenario
schema, the command options, intake and import all take their numbers from here, so a limit is the same
wherever the value enters.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sim.visible import visible as visible  # outside text in messages: one rule, in sim.visible

#: The longest run, in days (ten years and a little), for a scenario's clock and every ``--days``.
MAX_DAYS = 3660.0
#: Seeds are what numpy's SeedSequence and the event log's int64 column hold.
MAX_SEED = 2**63 - 1
#: Replications of one scenario (or design point) in one experiment.
MAX_REPS = 10_000
#: Design points of one sweep, and scenarios of one comparison.
MAX_POINTS = 10_000
#: Replications of one experiment in all (scenarios or design points × replications).
MAX_RUNS = 100_000
#: Staff of one post, and a pool of staff to split.
MAX_STAFF = 100_000
#: Requests of one ``validate mmc`` replication.
MAX_CUSTOMERS = 100_000_000
#: How deeply arrays and tables may nest in a scenario, a ``--set`` value or a JSON record (the shipped
#: scenarios nest 4 deep, an Open311 document 3).
MAX_DEPTH = 32
#: A scenario file (the default district is 5 KB, a fitted fragment a few KB).
MAX_SCENARIO_BYTES = 4 * 1024**2
#: An intake file is read whole and checked before anything is added; a bigger batch is split.
MAX_INTAKE_BYTES = 64 * 1024**2
#: A trace or event log read back (a simulated year's event log of the default district is 112 MB).
MAX_TRACE_BYTES = 16 * 1024**3
#: Years a request's creation time may fall in (earlier and later ones are placeholders or typos).
YEARS = (1990, 2100)
#: Pseudo-filesystems: reading them never ends or means nothing, writing them does harm.
_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def mb(size: float) -> str:
    """A size for a message: MB, KB or bytes."""
    if size >= 1024**2:
        return f"{size / 1024**2:,.0f} MB"
    return f"{size / 1024:,.0f} KB" if size >= 1024 else f"{size:,.0f} bytes"


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list | tuple):
            level += 1
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((v, level) for v in item)
    return deepest


def finite(value: float) -> bool:
    return math.isfinite(value)


def input_problem(path: Path, max_bytes: int) -> str | None:
    """Why ``path`` cannot be read as an input file (missing, a folder, a pipe or device, too large), or
    None. A FIFO would block the read for ever, a device may never end."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        return f"{kind}, not a regular file"
    if _under_system(path):
        return "a system file, not an input file"
    if info.st_size > max_bytes:
        return f"{mb(info.st_size)}, larger than the {mb(max_bytes)} allowed"
    return None


def _under_system(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return any(resolved == s or s in resolved.parents for s in _SYSTEM)


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except (OSError, RuntimeError):
        return False


def output_problem(path: Path, inputs: Iterable[Path] = (), *, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written as an output file (or ``folder``), or None: it is one of the
    ``inputs``, a folder where a file is wanted (or the reverse), under a system folder, or in a folder
    that cannot be written."""
    for source in inputs:
        if same_file(path, source):
            return f"the same file as the input {source}; writing it would destroy the input"
    if _under_system(path):
        return "under a system folder (/proc, /sys, /dev); give a file name in a folder of yours"
    if path.exists():
        if folder and not path.is_dir():
            return "a file, not a folder"
        if not folder and path.is_dir():
            return "a folder; give a file name"
    ancestor = path if folder and path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is a file, so no folder can be made there"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"cannot write in {ancestor} (permission denied)"
    return None
