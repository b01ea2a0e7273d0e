"""Scenario files: extends, --set overrides, and one clear located message for every bad input."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario
from tests.conftest import SCENARIOS, run_microgov

GOOD = 'name = "Small"\nseed = 7\n\n[streets.S1]\nresidents = 40_000\n\n[towns.T1]\nresidents = 9_000\n'


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def problem_of(path: Path, overrides: list[str] | None = None):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides or [])
    assert len(info.value.problems) == 1, str(info.value)
    return info.value.first


def test_default_scenarios_load():
    for name in ("haigang-base.toml", "haigang-2019.toml", "haigang-2020.toml"):
        sc = load_scenario(SCENARIOS / name)
        assert isinstance(sc, Scenario)
        assert len(sc.streets) == 9 and len(sc.towns) == 3 and len(sc.departments) == 11


def test_extends_inherits_and_overrides(tmp_path):
    write(tmp_path, "base.toml", GOOD + "\n[staffing]\nper_office = 11\n")
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\nname = "Child"\n[staffing]\nper_office = 50\n')
    sc = load_scenario(child)
    assert sc.name == "Child"
    assert sc.staffing.per_office == 50
    assert sc.streets["S1"].residents == 40_000  # inherited
    assert sc.seed == 7


def test_set_overrides_are_typed_and_applied_last(tmp_path):
    path = write(tmp_path, "s.toml", GOOD)
    sc = load_scenario(path, ["staffing.per_office=50", "streets.S1.staff=12", "urban.households_per_grid=[350, 450]"])
    assert sc.staffing.per_office == 50
    assert sc.streets["S1"].staff == 12
    assert sc.urban.households_per_grid == (350, 450)
    assert load_scenario(path, ["name=Plain text name"]).name == "Plain text name"


def test_loaded_scenario_is_frozen(tmp_path):
    sc = load_scenario(write(tmp_path, "s.toml", GOOD))
    with pytest.raises(Exception):  # noqa: B017 (pydantic raises its own ValidationError subclass)
        sc.seed = 3  # type: ignore[misc]


def test_toml_syntax_error_names_line_and_column(tmp_path):
    p = problem_of(write(tmp_path, "bad.toml", 'name = "x"\n[streets.S1]\nresidents = \n'))
    assert (p.source, p.line) == (str(tmp_path / "bad.toml"), 3)
    assert "TOML syntax error at column" in p.problem


def test_unknown_key_suggests_the_near_one(tmp_path):
    text = GOOD + "\n[staffing]\nper_ofice = 50\n"
    p = problem_of(write(tmp_path, "bad.toml", text))
    assert p.path == "staffing.per_ofice"
    assert p.line == line_of(text, "per_ofice")
    assert "did you mean 'per_office'" in p.problem


def test_wrong_type_says_expected_and_found(tmp_path):
    text = GOOD.replace("40_000", '"many"')
    p = problem_of(write(tmp_path, "bad.toml", text))
    assert p.path == "streets.S1.residents" and p.line == line_of(text, "many")
    assert p.expected == "an integer" and p.found == '"many"'


@pytest.mark.parametrize(
    ("extra", "path", "needle"),
    [
        ("\n[streets.S2]\nresidents = 5000\nstaff = -3\n", "streets.S2.staff", "≥ 0"),
        ("\n[urban]\nhouseholds_per_grid = [0, 500]\n", "urban.households_per_grid", "1 ≤ low"),
        ("\n[urban]\nhouseholds_per_grid = [300, 6000]\n", "urban.households_per_grid", "high ≤ 5,000"),
        ("\n[urban]\nhouseholds_per_grid = [500, 300]\n", "urban.households_per_grid", "found [500, 300]"),
    ],
)
def test_out_of_range_values(tmp_path, extra, path, needle):
    p = problem_of(write(tmp_path, "bad.toml", GOOD + extra))
    assert p.path == path
    assert needle in p.render()
    assert p.line == line_of(GOOD + extra, path.rsplit(".", 1)[-1] + " =")


def test_missing_extends_target(tmp_path):
    p = problem_of(write(tmp_path, "child.toml", 'extends = "nowhere.toml"\nname = "x"\n'))
    assert p.path == "extends" and p.line == 1
    assert "not found" in p.problem and "nowhere.toml" in (p.found or "")


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", '\nextends = "a.toml"\nname = "b"\n')
    p = problem_of(tmp_path / "a.toml")
    assert p.problem == "extends cycle"
    assert p.source == str(tmp_path / "b.toml") and p.line == 2
    assert "a.toml -> b.toml -> a.toml" in (p.found or "")


def test_self_extends_is_a_cycle(tmp_path):
    p = problem_of(write(tmp_path, "a.toml", 'extends = "a.toml"\nname = "a"\n'))
    assert p.problem == "extends cycle"


def test_error_in_base_file_points_at_the_base(tmp_path):
    text = GOOD + "\n[rural]\nvillage_staff = -1\n"
    base = write(tmp_path, "base.toml", text)
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\nname = "c"\n')
    p = problem_of(child)
    assert p.source == str(base) and p.line == line_of(text, "village_staff") and p.path == "rural.village_staff"


def test_bad_set_path(tmp_path):
    path = write(tmp_path, "s.toml", GOOD)
    p = problem_of(path, ["staffing.per_ofice=50"])
    assert p.source == "--set staffing.per_ofice=50"
    assert "did you mean 'per_office'" in p.problem
    p = problem_of(path, ["seed.deep=1"])
    assert "single value" in p.problem
    p = problem_of(path, ["nokey"])
    assert p.problem == "malformed override"


def test_bad_set_value(tmp_path):
    path = write(tmp_path, "s.toml", GOOD)
    p = problem_of(path, ["staffing.per_office=abc"])
    assert p.source == "--set staffing.per_office=abc"
    assert p.path == "staffing.per_office" and p.expected == "an integer" and p.found == '"abc"'
    p = problem_of(path, ["staffing.allocation=random"])
    assert "flat" in (p.expected or "") and "by_population" in (p.expected or "")


def test_set_on_a_missing_office_names_what_is_missing(tmp_path):
    p = problem_of(write(tmp_path, "s.toml", GOOD), ["streets.S9.staff=3"])
    assert p.source == "--set streets.S9.staff=3" and "residents" in p.problem


def test_bad_override_leaves_nothing_half_applied(tmp_path):
    path = write(tmp_path, "s.toml", GOOD)
    before = path.read_bytes()
    with pytest.raises(ScenarioError):
        load_scenario(path, ["staffing.per_office=50", "streets.S1.staff=-1"])
    assert path.read_bytes() == before
    assert load_scenario(path).staffing.per_office == 11


def test_empty_file(tmp_path):
    assert "empty" in problem_of(write(tmp_path, "e.toml", "")).problem
    assert "empty" in problem_of(write(tmp_path, "c.toml", "# only a comment\n\n")).problem


def test_binary_and_non_utf8_files(tmp_path):
    p = problem_of(write(tmp_path, "b.toml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert p.problem == "not a text file"
    p = problem_of(write(tmp_path, "l.toml", b'name = "caf\xe9"\n'))
    assert p.problem == "not UTF-8 text" and p.line == 1 and "0xe9" in (p.found or "")


def test_duplicate_ids_across_sections(tmp_path):
    p = problem_of(write(tmp_path, "d.toml", GOOD + "\n[towns.S1]\nresidents = 3000\n"))
    assert "used twice" in p.problem


def test_every_bad_input_is_one_line_and_exit_2_without_traceback(tmp_path):
    """End to end, as a user sees it: the real command in a fresh process."""
    write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n')
    cases = {
        "syntax.toml": 'name = "x"\n[streets.S1]\nresidents = \n',
        "unknown.toml": GOOD + "\n[staffing]\nper_ofice = 50\n",
        "type.toml": GOOD.replace("40_000", '"many"'),
        "negative.toml": GOOD + "\n[streets.S2]\nresidents = 5000\nstaff = -3\n",
        "grid.toml": GOOD + "\n[urban]\nhouseholds_per_grid = [300, 6000]\n",
        "missing.toml": 'extends = "nowhere.toml"\nname = "x"\n',
        "empty.toml": "",
    }
    for name, text in cases.items():
        write(tmp_path, name, text)
    write(tmp_path, "binary.toml", b"\x00\x01\x02")
    write(tmp_path, "latin1.toml", b'name = "caf\xe9"\n')
    write(tmp_path, "good.toml", GOOD)
    runs = [[f] for f in [*cases, "a.toml", "binary.toml", "latin1.toml"]]
    runs += [["good.toml", "--set", "staffing.per_ofice=50"], ["good.toml", "--set", "staffing.per_office=abc"]]
    for args in runs:
        result = run_microgov("check", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stdout == ""


# --- fuzzing: any mutation of a valid file either loads or raises ScenarioError ------------------------

toml_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("inf", "inf").lower()),
    st.sampled_from(["true", "false", '""', "[]", "{}", "[1, 2, 3]", "[500, 300]", '"flat"', "nan", "1979-05-27"]),
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.text(max_size=8),
)


@st.composite
def mutated(draw, source: str) -> bytes:
    lines = source.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["value", "delete", "duplicate", "insert", "rename", "bytes", "truncate"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "value" and "=" in lines[i]:
            lines[i] = lines[i].split("=", 1)[0] + "= " + draw(toml_values)
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(["[streets.S2]", "[[streets]]", "staff = 3", "x = 1", "[urban]"])))
        elif op == "rename" and "=" in lines[i]:
            lines[i] = draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True)) + " =" + lines[i].split("=", 1)[1]
        elif op == "truncate":
            lines = lines[:i]
    data = "\n".join(lines).encode()
    if draw(st.booleans()) and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(SCENARIOS / "haigang-base.toml", folder / "haigang-base.toml")
    return folder


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_load_or_raise_scenario_error(fuzz_dir, data):
    name = data.draw(st.sampled_from(["haigang-2020.toml", "haigang-2019.toml", "haigang-base.toml", "small"]))
    source = GOOD if name == "small" else (SCENARIOS / name).read_text(encoding="utf-8")
    target = fuzz_dir / "mutant.toml"
    target.write_bytes(data.draw(mutated(source)))
    overrides = data.draw(
        st.lists(st.from_regex(r"[a-z_.0-9S]{1,24}=[-\w\[\], .\"]{0,12}", fullmatch=True), max_size=2)
    )
    try:
        result = load_scenario(target, overrides)
    except ScenarioError as exc:
        assert str(exc).strip()
        for problem in exc.problems:
            assert "\n" not in problem.render()
    else:
        assert isinstance(result, Scenario)


def test_every_default_file_is_valid_toml():
    for path in SCENARIOS.rglob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))
