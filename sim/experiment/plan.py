"""The comparison plan: which scenarios an experiment runs, what each is called and what it is made of.

A policy question is rarely "file A against file B"; it is "our district, and the same district without
the whistle". The files named are scenarios as they stand; ``--set`` changes every one of them; a variant
(``"no whistle: whistle.enabled=false"``) is the first file with overrides of its own on top, under its
own label. Every caller (``microgov compare`` and ``sweep``, the console's Compare mode, the Python API)
turns its files, overrides and variants into labelled scenarios here, so the labels, the order in which
overrides apply (file, then ``--set``, then the variant's own) and the checks (bad variant text, a label
used twice, two scenarios that are the same) are the same wherever a comparison is set up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim import limits
from sim.errors import Problem, ScenarioError
from sim.experiment.errors import ExperimentError
from sim.experiment.kpis import HEADLINE
from sim.scenario.loader import (
    Layer,
    defaults_layer,
    override_layer,
    parse_override,
    read_layers,
    validate_layers,
)
from sim.scenario.schema import Scenario
from sim.visible import visible

VARIANT_FORM = "LABEL: KEY=VALUE[; KEY=VALUE...]"
MAX_LABEL = 80
"""A label is shown in table headers and legends: as long as a scenario's name may be."""
MAX_VARIANT_TEXT = 10_000
COSMETIC = frozenset({"name", "description"})
"""Settings that change how a scenario is shown, not what it simulates."""


@dataclass
class Plan:
    """What to run: labelled scenarios, replications, length, seed and warm-up."""

    scenarios: list[tuple[str, Scenario]]
    reps: int | None = 10
    ci_width: float | None = None
    max_reps: int = 200
    headline: str = HEADLINE
    days: float | None = None
    seed: int = 0
    warmup_days: float | str | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    offices: tuple[str, ...] = ()
    """Simulate only these street or town offices' areas, with the departments (empty: everything)."""
    origins: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What each label is made of (its file, the ``--set`` overrides, a variant's own), for reports."""


# --- variants ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """The first file with overrides of its own, under a label: ``no whistle: whistle.enabled=false``."""

    label: str
    sets: tuple[str, ...]

    @property
    def source(self) -> str:
        """How messages name it (as the command line would)."""
        return f'--variant "{self.label}"'

    def __str__(self) -> str:
        return f"{self.label}: {'; '.join(self.sets)}"


def parse_variant(text: str) -> Variant:
    """``LABEL: KEY=VALUE[; KEY=VALUE...]``: the label ends at the first colon; each ``KEY=VALUE`` is
    read as ``--set`` reads it (a key the scenario schema has, a TOML value or else a string)."""
    if len(text) > MAX_VARIANT_TEXT:
        raise _bad(f'--variant "{text[:40]}..."', f"longer than {MAX_VARIANT_TEXT:,} characters")
    label, colon, settings = text.partition(":")
    if not colon or "=" in label:
        raise _bad(f'--variant "{text.strip()}"', "no label", expected=f'"{VARIANT_FORM}"')
    return make_variant(label, settings)


def make_variant(label: str, settings: str | Sequence[str]) -> Variant:
    """A variant from its label and its overrides (one ``;``-separated text, or a list), each checked
    with the scenario loader's own rules; every problem names the variant."""
    label = variant_label(label)
    source = f'--variant "{label}"'
    texts = split_outside(settings, ";") if isinstance(settings, str) else [s for s in settings if s.strip()]
    if not texts:
        raise _bad(source, "no KEY=VALUE after the label: a variant changes at least one setting")
    sets = []
    for text in texts:
        try:
            parse_override(text.strip())
        except ScenarioError as exc:
            raise _renamed(exc, source) from None
        sets.append(text.strip())
    return Variant(label, tuple(sets))


def variant_label(label: str) -> str:
    """``label`` without the spaces around it, if it can label a variant: not empty, printable, at most
    as long as a scenario's name, and without the ``:`` and ``=`` that separate a variant's parts."""
    label = label.strip()
    source = f'--variant "{label}"'
    if not label:
        raise _bad(source, "no label", expected=f'"{VARIANT_FORM}"')
    if len(label) > MAX_LABEL:
        raise _bad(f'--variant "{label[:40]}..."', f"a label of at most {MAX_LABEL} characters, found {len(label)}")
    if visible(label) != label:
        raise _bad(source, "the label holds a control character; remove it")
    if ":" in label or "=" in label:
        raise _bad(source, "a label cannot hold ':' or '='", expected=f'"{VARIANT_FORM}"')
    return label


def split_outside(raw: str, sep: str) -> list[str]:
    """Split at ``sep`` where it is not inside brackets, braces or a quoted string (values may be arrays,
    tables or strings holding the separator); empty parts are dropped."""
    out: list[str] = []
    cur: list[str] = []
    depth, quote, escaped = 0, "", False
    for ch in raw:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return [v for v in out if v.strip()]


def _bad(source: str, problem: str, *, expected: str | None = None) -> ScenarioError:
    return ScenarioError(Problem(problem, source=source, expected=expected))


def _renamed(exc: ScenarioError, source: str) -> ScenarioError:
    """The loader's problems, told of the variant instead of the ``--set`` argument they came from; the
    first only, so a bad variant is one line."""
    first = exc.first
    return ScenarioError(replace(first, source=source if (first.source or "").startswith("--set") else first.source))


# --- the scenarios of a plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One scenario of a plan: its label, what it is made of, and the scenario itself."""

    label: str
    scenario: Scenario
    layers: tuple[Layer, ...]
    """The layers it was validated from (defaults, file chain, ``--set``, the variant's): a sweep puts
    its design point's settings on top of these."""
    origin: str
    """The file, or for a Scenario given as it is, its name."""
    sets: tuple[str, ...] = ()
    variant: Variant | None = None

    def with_sets(self, sets: Sequence[str]) -> Scenario:
        """This scenario with more ``--set`` overrides on top (a sweep's design point)."""
        if not sets:
            return self.scenario
        layers = [*self.layers, *(override_layer(parse_override(text)) for text in sets)]
        try:
            return validate_layers(layers)
        except ScenarioError as exc:
            if self.variant is None:
                raise
            raise ScenarioError([_tell(p, self.label) for p in exc.problems]) from None

    def about(self) -> dict[str, Any]:
        """What ``--json`` and ``report.md`` say the label is."""
        return {
            "file": self.origin,
            "sets": list(self.sets),
            "variant": list(self.variant.sets) if self.variant else None,
        }


def _tell(problem: Problem, label: str) -> Problem:
    """``problem`` told of the variant whose scenario it was found in (and then of where it was found)."""
    where = f'--variant "{label}"'
    return replace(problem, source=f"{where}: {problem.source}" if problem.source else where)


def plan_entries(
    files: Sequence[str | Path | Scenario],
    sets: Sequence[str] = (),
    variants: Sequence[str | Variant] = (),
) -> list[Entry]:
    """The labelled scenarios for ``files`` (each with ``sets`` applied) and ``variants`` (each the first
    file with ``sets`` and then its own overrides). A file is labelled with its scenario's name (its
    file name added where two names are the same), a variant with its own label. Two scenarios that are
    the same after every override are refused (every paired difference would be zero)."""
    if not files:
        raise ExperimentError("nothing to compare: give at least one scenario")
    if len(files) + len(variants) > limits.MAX_POINTS:
        raise ExperimentError(
            f"{len(files) + len(variants):,} scenarios and variants, more than the {limits.MAX_POINTS:,} one "
            "experiment takes"
        )
    parsed = [make_variant(v.label, v.sets) if isinstance(v, Variant) else parse_variant(v) for v in variants]
    common = [parse_override(text) for text in sets]
    set_layers = [override_layer(o) for o in common]
    bases: list[tuple[str, tuple[Layer, ...], Scenario]] = []
    for item in files:
        origin, layers = _base(item)
        if isinstance(item, Scenario) and not set_layers:
            bases.append((origin, tuple(layers), item))
            continue
        layers = [*layers, *set_layers]
        bases.append((origin, tuple(layers), validate_layers(layers)))
    hints = [
        Path(origin).stem if not isinstance(item, Scenario) else origin
        for item, (origin, _, _) in zip(files, bases, strict=True)
    ]
    labels = unique_labels([s.name for _, _, s in bases], hints)
    entries = [
        Entry(label, scenario, layers, origin, tuple(sets))
        for label, (origin, layers, scenario) in zip(labels, bases, strict=True)
    ]
    names = {label.casefold(): label for label in labels} | {s.name.casefold(): s.name for _, _, s in bases}
    labelled: set[str] = set()
    origin, first_layers, _ = bases[0]
    for variant in parsed:
        key = variant.label.casefold()
        if key in labelled:
            raise _bad(variant.source, "two variants have this label; give each its own")
        if key in names:
            raise _bad(
                variant.source, f"the label is a compared scenario's name ('{names[key]}'); give the variant its own"
            )
        labelled.add(key)
        layers = [*first_layers, *(_variant_layer(variant, text) for text in variant.sets)]
        try:
            scenario = validate_layers(layers)
        except ScenarioError as exc:
            first = exc.first
            raise ScenarioError(first if first.source == variant.source else _tell(first, variant.label)) from None
        entries.append(Entry(variant.label, scenario, tuple(layers), origin, tuple(sets), variant))
    refuse_identical(entries)
    return entries


def _base(item: str | Path | Scenario) -> tuple[str, list[Layer]]:
    if isinstance(item, Scenario):
        return item.name, [defaults_layer(), Layer(source=f"scenario '{item.name}'", data=item.model_dump(mode="json"))]
    return str(item), [defaults_layer(), *read_layers(item)]


def _variant_layer(variant: Variant, text: str) -> Layer:
    layer = override_layer(parse_override(text))
    return Layer(source=variant.source, data=layer.data)


def refuse_identical(entries: Sequence[Entry]) -> None:
    """Two scenarios whose settings agree in everything but their name would give the same result
    replication by replication: refuse them, naming both, rather than report zero differences."""
    seen: dict[str, str] = {}
    for entry in entries:
        key = settings_key(entry.scenario)
        if key in seen:
            raise SameScenarios(seen[key], entry.label)
        seen[key] = entry.label


def settings_key(scenario: Scenario) -> str:
    """What a scenario simulates, as text: every setting but its name and description."""
    return json.dumps(scenario.model_dump(mode="json", exclude=set(COSMETIC)), sort_keys=True)


class SameScenarios(ExperimentError):
    """Two scenarios of a plan are the same after every override."""

    def __init__(self, first: str, second: str) -> None:
        self.labels = (first, second)
        super().__init__(
            f'"{first}" and "{second}" are the same scenario after every override: every difference between '
            "them would be zero"
        )


def unique_labels(names: Sequence[str], hints: Sequence[str] | None = None) -> list[str]:
    """Scenario names made unique for tables: a repeated name gets its file's stem, then a number."""
    labels = list(names)
    if len(set(labels)) == len(labels):
        return labels
    if hints is not None:
        labels = [f"{name} ({hint})" for name, hint in zip(names, hints, strict=True)]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{name} #{i + 1}" for i, name in enumerate(names)]


def build_plan(
    files: Sequence[str | Path | Scenario],
    sets: Sequence[str] = (),
    variants: Sequence[str | Variant] = (),
    **options: Any,
) -> Plan:
    """A comparison's plan: the labelled scenarios of :func:`plan_entries` and the run's ``options``
    (``reps``, ``days``, ``seed``, ... as :class:`Plan` takes them)."""
    entries = plan_entries(files, sets, variants)
    return Plan([(e.label, e.scenario) for e in entries], origins={e.label: e.about() for e in entries}, **options)
