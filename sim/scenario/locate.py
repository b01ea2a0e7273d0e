"""Find the line of a dotted key in TOML text, so an error can point at the line a person has to edit.

``tomllib`` returns plain dicts without positions. This scanner reads valid TOML line by line and records
where every table header and every ``key = value`` starts, indexing arrays of tables (``[[streets]]``) the
way the parsed document does. A path it cannot place falls back to its longest placed prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Key = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _split_key(text: str) -> tuple[list[str], str] | None:
    """Split a dotted key at the start of ``text``; return its parts and the rest of the text."""
    parts: list[str] = []
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] in "\"'":
            quote = text[i]
            j = i + 1
            buf = []
            while j < n and text[j] != quote:
                if quote == '"' and text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                return None
            parts.append("".join(buf))
            i = j + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                return None
            parts.append(m.group(0))
            i = m.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == ".":
            i += 1
            continue
        return parts, text[i:]


def _bracket_depth(value: str) -> int:
    """Net count of open ``[``/``{`` in a value, ignoring strings and comments."""
    depth = 0
    quote = ""
    i = 0
    while i < len(value):
        c = value[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return depth


def key_lines(text: str) -> dict[Key, int]:
    """Map each table header and key in ``text`` (valid TOML) to its 1-based line number."""
    lines: dict[Key, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Key = ()
    depth = 0
    in_string = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_string:
            if in_string in line:
                in_string = ""
            continue
        if depth > 0:
            depth += _bracket_depth(line)
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            array = line.startswith("[[")
            split = _split_key(line[2:] if array else line[1:])
            if split is None:
                continue
            names = split[0]
            table = _resolve(names, counts)
            if array:
                counts[tuple(names)] = counts.get(tuple(names), 0) + 1
                table = (*table, counts[tuple(names)] - 1)
            lines.setdefault(table, number)
            continue
        split = _split_key(line)
        if split is None or not split[1].lstrip().startswith("="):
            continue
        key = (*table, *split[0])
        lines.setdefault(key, number)
        value = split[1].lstrip()[1:].strip()
        for quote in ('"""', "'''"):
            if value.startswith(quote) and value.count(quote) == 1:
                in_string = quote
        depth = max(0, _bracket_depth(value))
    return lines


def _resolve(names: Sequence[str], counts: dict[tuple[str, ...], int]) -> Key:
    """A header's path, with the current index of each enclosing array of tables inserted."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        prefix = tuple(names[: i + 1])
        if prefix in counts and i < len(names) - 1:
            path.append(counts[prefix] - 1)
    return tuple(path)


def locate(lines: dict[Key, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path``, or of its longest prefix that has one; ``None`` when nothing matches."""
    for end in range(len(path), 0, -1):
        hit = lines.get(tuple(path[:end]))
        if hit is not None:
            return hit
    return None
