"""Read a scenario: TOML files joined by ``extends``, ``--set`` overrides on top, validated as a whole.

Loading is pure: it reads files and returns a frozen :class:`Scenario` or raises :class:`ScenarioError`
with every problem located (file and line, or the ``--set`` argument that caused it). Nothing is applied
until everything has been checked, so a bad override never leaves a half-changed scenario behind.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim import limits
from sim.errors import Problem, ScenarioError
from sim.scenario import sense
from sim.scenario.locate import Key, key_lines, locate
from sim.scenario.schema import Scenario

MAX_EXTENDS_DEPTH = 16
_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


@dataclass(frozen=True)
class Layer:
    """One source of settings: a file in the ``extends`` chain, or one ``--set`` argument."""

    source: str
    data: dict[str, Any]
    lines: dict[Key, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Override:
    """A parsed ``--set dotted.key=value`` argument."""

    text: str
    path: tuple[str | int, ...]
    value: Any

    @property
    def source(self) -> str:
        return f"--set {self.text}"


DEFAULTS = Path(__file__).with_name("defaults.toml")


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read ``path`` (following ``extends``), apply ``--set`` overrides and validate the result.

    The built-in ``defaults.toml`` is the first layer of every scenario.
    """
    layers = [defaults_layer(), *read_layers(path)]
    layers += [override_layer(parse_override(text)) for text in overrides]
    return validate_layers(layers)


def scenario_from_dict(data: Mapping[str, Any], overrides: Sequence[str] = ()) -> Scenario:
    """Validate a scenario given as plain data (over the defaults), e.g. one built in a notebook or test."""
    layers = [defaults_layer(), Layer(source="<data>", data=dict(data))]
    layers += [override_layer(parse_override(text)) for text in overrides]
    return validate_layers(layers)


@functools.cache
def _defaults_data() -> tuple[str, dict[str, Any], dict[Key, int]]:
    layer = read_file(DEFAULTS)
    return layer.source, layer.data, layer.lines


def defaults_layer() -> Layer:
    source, data, lines = _defaults_data()
    return Layer(source=f"built-in defaults ({source})", data=copy.deepcopy(data), lines=lines)


def load_document(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The merged, validated document as plain data (what a sweep varies and a worker re-validates)."""
    return load_scenario(path, overrides).model_dump(mode="json")


def validate_layers(layers: Sequence[Layer], *, sense_checks: bool = True) -> Scenario:
    """Merge the layers and validate the result, then (``sense_checks``) refuse what would make a run
    meaningless (:mod:`sim.scenario.sense`), every problem located in the layer that set it."""
    merged: dict[str, Any] = {}
    for layer in layers:
        try:
            merged = merge(merged, layer.data)
        except _NoSuchItem as exc:
            raise ScenarioError(Problem(str(exc), source=layer.source)) from None
        except _EmptyTable as exc:
            line = locate(layer.lines, exc.path) if layer.lines else None
            raise ScenarioError(
                Problem(
                    f"an empty table changes nothing: tables merge key by key, so the entries already there "
                    f"({exc.kept}) stay; change their keys one by one",
                    source=layer.source,
                    line=line,
                    path=".".join(map(str, exc.path)),
                )
            ) from None
    try:
        scenario = Scenario.model_validate(merged)
    except ValidationError as exc:
        problems = [_problem(err, layers) for err in exc.errors()]
        raise ScenarioError(_dedupe(problems)) from None
    if sense_checks:
        found = [locate_problem(p, layers) for p in sense.problems(scenario)]
        if found:
            raise ScenarioError(_dedupe(found))
    return scenario


def locate_problem(problem: Problem, layers: Sequence[Layer]) -> Problem:
    """``problem`` (with a dotted path but no source) placed in the layer and line that set its path."""
    if problem.source is not None or not problem.path:
        return problem
    loc = tuple(int(p) if p.isdigit() else p for p in problem.path.split("."))
    layer = _source_of(loc, layers)
    line = locate(layer.lines, loc) if layer.lines else None
    return replace(problem, source=layer.source, line=line)


def read_layers(path: str | Path) -> list[Layer]:
    """The files of an ``extends`` chain, base first, each read and parsed."""
    chain: list[Layer] = []
    seen: list[Path] = []
    current = Path(path)
    referrer: tuple[str, int | None] | None = None
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join(p.name for p in [*seen, resolved])
            src, line = referrer or (str(current), None)
            raise ScenarioError(Problem("extends cycle", source=src, line=line, path="extends", found=cycle))
        if len(seen) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(Problem(f"extends chain deeper than {MAX_EXTENDS_DEPTH} files", source=str(current)))
        if not current.exists() or current.is_dir():
            if referrer is None:
                what = "a folder, not a scenario file" if current.is_dir() else "no such scenario file"
                raise ScenarioError(Problem(what, source=str(current)))
            src, line = referrer
            raise ScenarioError(
                Problem(
                    "extends target not found",
                    source=src,
                    line=line,
                    path="extends",
                    expected="an existing TOML file (relative to the file that extends it)",
                    found=f"'{current}'",
                )
            )
        seen.append(resolved)
        layer = read_file(current)
        chain.append(layer)
        parent = layer.data.pop("extends", None)
        if parent is None:
            break
        line = layer.lines.get(("extends",))
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError(
                Problem(
                    "invalid extends",
                    source=layer.source,
                    line=line,
                    path="extends",
                    expected="a file name as a string",
                    found=_show(parent),
                )
            )
        referrer = (layer.source, line)
        current = current.parent / parent
    chain.reverse()
    return chain


def read_file(path: Path) -> Layer:
    """Read one TOML file into a layer; every way it can be unreadable is a :class:`ScenarioError`."""
    source = str(path)
    unreadable = limits.input_problem(path, limits.MAX_SCENARIO_BYTES)
    if unreadable:
        raise ScenarioError(Problem(f"not a scenario file: {unreadable}", source=source))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(Problem(f"cannot read the file ({exc.strerror})", source=source)) from None
    if b"\x00" in raw:
        raise ScenarioError(
            Problem(
                "not a text file",
                source=source,
                expected="a TOML scenario (UTF-8 text)",
                found=f"binary data (a NUL byte at offset {raw.index(0)})",
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            Problem(
                "not UTF-8 text",
                source=source,
                line=line,
                expected="a TOML scenario in UTF-8",
                found=f"byte 0x{raw[exc.start]:02x} at offset {exc.start}",
            )
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomllib.loads(text)
        deep = limits.depth(data) > limits.MAX_DEPTH
    except RecursionError:
        deep = True
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match and match.group(1) else text.count("\n") + 1
        column = f" at column {match.group(2)}" if match and match.group(2) else " at the end"
        detail = _TOML_POSITION.sub("", message)
        raise ScenarioError(
            Problem(f"TOML syntax error{column}: {detail[:1].lower()}{detail[1:]}", source=source, line=line)
        ) from None
    if deep:
        raise ScenarioError(Problem(f"arrays or tables nested more than {limits.MAX_DEPTH} deep", source=source))
    if not data:
        raise ScenarioError(
            Problem(
                "the scenario file is empty",
                source=source,
                expected='at least a name, or extends = "base.toml"',
                found="no settings",
            )
        )
    return Layer(source=source, data=data, lines=key_lines(text))


def parse_override(text: str) -> Override:
    """Parse ``dotted.key=value``; the value is read as TOML (``50``, ``0.9``, ``true``, ``[1, 2]``,
    ``"text"``) and anything that is not valid TOML is taken as a plain string."""
    source = f"--set {text}"
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(
            Problem("malformed override", source=source, expected="dotted.key=value", found=f"'{text}'")
        )
    segments: list[str | int] = []
    for part in key.split("."):
        part = part.strip()
        if not part:
            raise ScenarioError(Problem("malformed key", source=source, expected="dotted.key=value", found=f"'{key}'"))
        segments.append(int(part) if part.isdigit() else part)
    check_path(tuple(segments), source)
    try:
        value = parse_value(raw.strip())
    except ValueError as exc:
        raise ScenarioError(Problem(str(exc), source=source, path=key)) from None
    return Override(text=text, path=tuple(segments), value=value)


def parse_value(raw: str) -> Any:
    """A ``--set`` value as TOML would read it, or the raw text when it is not a TOML value; a value
    nested too deeply is a ValueError."""
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    except RecursionError:
        value = None
    if value is None or limits.depth(value) > limits.MAX_DEPTH:
        raise ValueError(f"the value nests arrays or tables more than {limits.MAX_DEPTH} deep")
    return value


def override_layer(override: Override) -> Layer:
    data: Any = override.value
    for segment in reversed(override.path):
        data = {segment: data}
    return Layer(source=override.source, data=data)


def merge(base: Mapping[str, Any], top: Mapping[Any, Any], at: tuple[str | int, ...] = ()) -> dict[str, Any]:
    """Deep-merge ``top`` over ``base``: tables merge key by key, everything else is replaced.

    An integer key addresses an item of an array (how ``--set streets.2.staff=50`` reaches into
    ``[[streets]]``). An empty table over a table with entries would change nothing, so it is refused
    (``categories = {}`` reads as "no categories", which is not what merging does).
    """
    out: dict[str, Any] = dict(base)
    for key, value in top.items():
        out[key] = _merge_value(out.get(key), value, (*at, key))
    return out


class _NoSuchItem(LookupError):
    """An override addresses an array item that the merged document does not have."""


class _EmptyTable(ValueError):
    """An empty table set over a table that has entries (which merging keeps)."""

    def __init__(self, path: tuple[str | int, ...], kept: str) -> None:
        super().__init__(".".join(map(str, path)))
        self.path, self.kept = path, kept


def _merge_value(old: Any, new: Any, at: tuple[str | int, ...] = ()) -> Any:
    if isinstance(new, dict) and any(isinstance(k, int) for k in new):
        items = list(old) if isinstance(old, list) else []
        for index, value in new.items():
            if not isinstance(index, int) or not 0 <= index < len(items):
                raise _NoSuchItem(
                    f"no item {index} to set: the array has {len(items)} item(s), numbered 0 to {len(items) - 1}"
                    if items
                    else f"no item {index} to set: the array is empty"
                )
            items[index] = _merge_value(items[index], value, (*at, index))
        return items
    if isinstance(new, dict) and isinstance(old, dict):
        if not new and old:
            names = list(map(str, old))
            raise _EmptyTable(at, ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else ""))
        return merge(old, new, at)
    return new


# --- walking the schema ------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` from a field's annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def keys_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key a scenario file writes (a field's alias where it has one: ``while``)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _child(annotation: Any, segment: str | int) -> tuple[bool, Any, list[str]]:
    """Step from a type into ``segment``: (ok, child type, valid keys for a suggestion)."""
    annotation = _unwrap(annotation)
    if _is_model(annotation):
        fields = keys_of(annotation)
        if isinstance(segment, str) and segment in fields:
            return True, fields[segment].annotation, []
        return False, None, list(fields)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (tuple, list):
        if not isinstance(segment, int):
            return False, None, ["an index 0, 1, ..."]
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if segment >= len(args):
                return False, None, [str(i) for i in range(len(args))]
            return True, args[segment], []
        return True, args[0] if args else Any, []
    if origin is dict:
        return True, args[1] if len(args) == 2 else Any, []
    if annotation is Any:
        return True, Any, []
    return False, None, []


def check_path(path: Sequence[str | int], source: str) -> None:
    """Refuse a ``--set`` path the schema does not have, suggesting the nearest valid key."""
    annotation: Any = Scenario
    walked: list[str] = []
    for segment in path:
        ok, child, keys = _child(annotation, segment)
        if not ok:
            where = ".".join(walked) or "the top level"
            if not keys:
                problem = f"'{'.'.join(walked)}' is a single value, it has no key '{segment}'"
                raise ScenarioError(Problem(problem, source=source, path=".".join(map(str, path))))
            problem = f"unknown key '{segment}' in {where}{_suggest(str(segment), keys)}"
            raise ScenarioError(Problem(problem, source=source, path=".".join(map(str, path))))
        annotation = child
        walked.append(str(segment))


def model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The schema model found at a validation error's location, if the location names one."""
    annotation: Any = Scenario
    for segment in loc:
        ok, child, _ = _child(annotation, segment)
        if not ok:
            return None
        annotation = child
    annotation = _unwrap(annotation)
    return annotation if _is_model(annotation) else None


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- turning validation errors into located problems -------------------------------------------------


def _problem(err: Any, layers: Sequence[Layer]) -> Problem:
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc)
    layer = _source_of(loc, layers)
    line = locate(layer.lines, loc) if layer.lines else None
    kind = err["type"]
    if kind == "extra_forbidden":
        model = model_at(loc[:-1])
        keys = list(keys_of(model)) if model else []
        return Problem(
            f"unknown key '{loc[-1]}'{_suggest(str(loc[-1]), keys)}",
            source=layer.source,
            line=line,
            path=dotted,
        )
    if kind == "missing":
        return Problem(f"missing required key '{loc[-1]}'", source=layer.source, line=line, path=dotted)
    if kind == "value_error":
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        return Problem(message, source=layer.source, line=line, path=dotted or None)
    return Problem(
        "invalid value",
        source=layer.source,
        line=line,
        path=dotted,
        expected=_expected(err),
        found=_show(err.get("input")),
    )


def _source_of(loc: Sequence[str | int], layers: Sequence[Layer]) -> Layer:
    """The layer that set ``loc`` last, or else the one that set the longest part of it."""
    best, best_depth = layers[-1], -1
    for layer in reversed(layers):
        depth = _depth_in(layer.data, loc)
        if depth == len(loc):
            return layer
        if depth > best_depth:
            best, best_depth = layer, depth
    return best


def _depth_in(data: Any, loc: Sequence[str | int]) -> int:
    depth = 0
    for segment in loc:
        if isinstance(data, dict) and segment in data:  # noqa: SIM114 (a dict key and a list index differ in type)
            data = data[segment]
        elif isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data):
            data = data[segment]
        else:
            break
        depth += 1
    return depth


_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "tuple_type": "an array",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "string_too_short": "a non-empty string",
    "string_unicode": "text (this has a byte that is not UTF-8)",
    "finite_number": "a finite number",
}


def _expected(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    bounds = {
        "greater_than_equal": ("≥", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("≤", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        sign, key = bounds[kind]
        bound = ctx.get(key)
        shown = str(bound)
        if isinstance(bound, int | float) and (isinstance(bound, int) or float(bound).is_integer()):
            shown = f"{int(bound):,}"
        elif isinstance(bound, float):
            shown = f"{bound:g}"
        return f"a number {sign} {shown}"
    if kind == "string_pattern_mismatch":
        return "a lower-case name (letters, digits and _ , starting with a letter)"
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "")).replace("'", '"')
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    return str(err.get("msg", "a valid value")).removeprefix("Input should be ")


def _show(value: Any) -> str:
    """A found value as the user wrote it (TOML-ish), cut short if long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, dict):
        text = "a table {" + ", ".join(map(str, value)) + "}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    elif value is None:
        text = "nothing"
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    out.sort(key=lambda p: (p.source or "", p.line or 0))
    return out
