"""The experiment harness: replications with common random numbers, executors that agree, statistics,
comparisons, sweeps and staffing answers, as the API and as the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.staffing import ServiceTarget, StaffingError, staff
from sim.errors import ScenarioError
from sim.experiment import Sequential, compare, sweep
from sim.experiment.compare import Plan, compare_scenarios, paired_differences
from sim.experiment.executors import DaskCluster, LocalPool, Outcome
from sim.experiment.kpis import KPIS
from sim.experiment.plan import SameScenarios, Variant, build_plan, parse_variant, plan_entries, split_outside
from sim.experiment.replicate import RepResult, Task
from sim.experiment.stats import Running, holm, mser5, mser5_cap, p_value, t_interval, verdict
from sim.experiment.sweep import Vary, design, parse_vary
from sim.scenario import scenario_from_dict

SMALL = {
    "name": "small",
    "seed": 4,
    "streets": {"S1": {"residents": 60_000}, "S2": {"residents": 30_000}},
    "towns": {"T1": {"residents": 8_000}},
    "staffing": {"per_office": 8},
    "patience": {"enabled": False},
}


def small(**changes):
    data = {**SMALL, **changes}
    return scenario_from_dict(data)


@pytest.fixture
def small_files(tmp_path):
    base = tmp_path / "small.toml"
    base.write_text(
        'name = "Small 3"\nseed = 4\n[staffing]\nper_office = 3\n[patience]\nenabled = false\n'
        "[streets.S1]\nresidents = 60_000\n[streets.S2]\nresidents = 30_000\n[towns.T1]\nresidents = 8_000\n",
        encoding="utf-8",
    )
    more = tmp_path / "small30.toml"
    more.write_text('extends = "small.toml"\nname = "Small 30"\n[staffing]\nper_office = 30\n', encoding="utf-8")
    return base, more


# --- statistics ---------------------------------------------------------------------------------------


def test_t_interval_matches_the_textbook():
    mean, lo, hi = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert hi - mean == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert (lo, hi) == pytest.approx((mean - (hi - mean), hi))


def test_verdicts_follow_the_kpi_direction():
    assert verdict(0.1, 0.3, "higher") == "better"
    assert verdict(0.1, 0.3, "lower") == "worse"
    assert verdict(-0.3, -0.1, "lower") == "better"
    assert verdict(-0.1, 0.2, "higher") == "no significant difference"
    assert verdict(0.1, 0.2, "neither") == "higher"


def test_mser5_cuts_the_transient():
    rng = np.random.default_rng(1)
    series = np.concatenate([np.linspace(200, 20, 100), 20 + rng.normal(0, 1, 900)])
    cut = mser5(series)
    assert 60 <= cut <= 160
    assert mser5(20 + rng.normal(0, 1, 1000)) <= 50


def test_mser5_at_its_cap_means_the_series_never_settled():
    trending = np.arange(500, dtype=float)
    assert mser5(trending) == mser5_cap(500) == 250


def test_holm_adjusts_a_family_of_p_values():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.001, 0.9]) == pytest.approx([0.002, 0.9])


def test_paired_verdicts_control_the_family_wise_error():
    """Thirteen KPIs with small, noisy differences: each raw interval alone may exclude zero, but after
    Holm only a difference that stands out over the whole family is called better or worse."""
    rng = np.random.default_rng(7)
    diffs = {k.name: Running() for k in KPIS}
    for k in KPIS:
        for x in rng.normal(0.0, 1.0, 10):
            diffs[k.name].add(float(x))
    for x in rng.normal(5.0, 1.0, 10):
        diffs["response_rate"].add(float(x) - diffs["response_rate"].mean)
    out = paired_differences(diffs)
    raw_significant = [n for n, v in out.items() if v["p_value"] is not None and v["p_value"] <= 0.05]
    assert out["response_rate"]["verdict"] == "better"
    called = [n for n, v in out.items() if v["verdict"] not in ("no significant difference", "no data")]
    assert called == ["response_rate"]
    assert all(v["p_holm"] >= v["p_value"] for v in out.values() if v["p_value"] is not None)
    assert len(raw_significant) >= len(called)
    r = Running()
    for x in (1.0, 1.0, 1.0):
        r.add(x)
    assert p_value(r) == 0.0


def test_a_trending_pilot_gets_a_warning():
    overloaded = small(staffing={"per_office": 1}, arrivals={"requests_per_resident_year": 3.0})
    plan = Plan([("overloaded", overloaded)], reps=2, days=6, warmup_days="auto")
    summary = compare_scenarios(plan, Sequential()).summary()
    auto = summary["warmup_auto"]
    assert auto["not_steady"] == ["overloaded"] and "still trending" in auto["warning"]


# --- replications and executors ------------------------------------------------------------------------


def test_replication_i_sees_the_same_arrivals_in_every_scenario():
    frame = compare([small(), small(staffing={"per_office": 30})], reps=3, days=1.5)
    requests = frame[frame["kpi"] == "requests"].pivot(index="replication", columns="scenario", values="value")
    assert (requests.nunique(axis=1) == 1).all()  # the same requests in both scenarios
    assert requests.iloc[:, 0].nunique() == 3  # independent streams across replications


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    key = ["scenario", "replication", "kpi"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    return a[key].equals(b[key]) and np.allclose(
        a["value"].astype(float), b["value"].astype(float), equal_nan=True, rtol=0, atol=0
    )


def test_executors_give_identical_results():
    scenarios = [small(), small(staffing={"per_office": 30})]
    seq = compare(scenarios, reps=2, days=1, executor=Sequential())
    with LocalPool(2) as pool:
        par = compare(scenarios, reps=2, days=1, executor=pool)
    assert _same(seq, par)


def test_a_dask_cluster_gives_identical_results():
    distributed = pytest.importorskip("distributed")
    scenarios = [small(), small(staffing={"per_office": 30})]
    seq = compare(scenarios, reps=2, days=1, executor=Sequential())
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        DaskCluster(cluster.scheduler_address) as dask,
    ):
        assert dask.workers == 2
        on_dask = compare(scenarios, reps=2, days=1, executor=dask)
    assert _same(seq, on_dask)


class Flaky(Sequential):
    """Replication 1 fails once (and is retried), replication 2 always fails (and is reported)."""

    def __init__(self) -> None:
        self.calls: dict[int, int] = {}

    def run(self, tasks):
        from sim.experiment.replicate import run_replication

        for task in tasks:
            outcome = None
            for attempt in (1, 2):
                self.calls[task.rep] = self.calls.get(task.rep, 0) + 1
                if task.rep == 2 or (task.rep == 1 and attempt == 1):
                    continue
                outcome = Outcome(task, run_replication(task), None, attempt)
                break
            yield outcome or Outcome(task, None, "RuntimeError: boom", 2)


def test_a_failed_replication_is_retried_once_then_reported():
    flaky = Flaky()
    plan = Plan([("a", small())], reps=3, days=1)
    result = compare_scenarios(plan, flaky)
    assert flaky.calls == {0: 1, 1: 2, 2: 2}
    assert result.collector.reps_done["a"] == 2
    assert result.summary()["failures"] == [
        {"scenario": "a", "replication": 2, "attempts": 2, "error": "RuntimeError: boom"}
    ]


def test_the_local_pool_retries_then_reports(monkeypatch):
    calls = []

    def sometimes(task: Task) -> RepResult:
        calls.append(task.rep)
        raise ValueError(f"no luck {task.rep}")

    monkeypatch.setattr("sim.experiment.executors.run_replication", sometimes)
    outcomes = list(Sequential().run([Task("a", 0, 0, {}, 0, 1.0, 0.0)]))
    assert calls == [0, 0]
    assert outcomes[0].result is None and outcomes[0].attempts == 2 and "no luck 0" in outcomes[0].error


def test_streamed_aggregation_keeps_nothing_per_replication():
    plan = Plan([("a", small()), ("b", small(staffing={"per_office": 30}))], reps=4, days=1)
    result = compare_scenarios(plan, Sequential())
    assert result.collector.pending == {} and result.collector.rows == []
    assert result.collector.diffs["b"]["response_rate"].n == 4


# --- compare ------------------------------------------------------------------------------------------


def test_compare_cli_json_and_files(cli, small_files, tmp_path):
    base, more = small_files
    out = tmp_path / "out"
    result = cli(
        "compare", str(base), str(more), "--reps", "5", "--days", "2", "--workers", "1", "--json", "--out", str(out)
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) >= {"scenarios", "paired", "reps", "seed"}
    assert [s["name"] for s in data["scenarios"]] == ["Small 3", "Small 30"]
    kpi = data["scenarios"][0]["kpis"]["response_rate"]
    assert set(kpi) == {"mean", "ci", "judged"} and kpi["ci"][0] <= kpi["mean"] <= kpi["ci"][1]
    assert kpi["judged"] > 0  # the requests whose response deadline fell inside the run, per replication
    assert "Holm" in data["multiplicity"]
    assert {"p_value", "p_holm", "verdict"} <= set(data["paired"][0]["kpis"]["response_rate"])
    paired = data["paired"][0]
    assert paired["name"] == "Small 30" and paired["vs"] == "Small 3"
    wait = paired["kpis"]["street_wait_mean_h"]
    assert wait["diff"] < 0 and wait["verdict"] == "better"  # 30 staff per office wait less than 3
    for name in ("results.csv", "results.parquet", "report.md", "backlog.png", "resolution_time.png", "kpis.png"):
        assert (out / name).stat().st_size > 0, name
    rows = pd.read_csv(out / "results.csv")
    assert list(rows.columns) == ["scenario", "replication", "kpi", "value"]
    assert rows.groupby(["scenario", "replication"]).size().nunique() == 1
    assert len(rows) == 2 * 5 * rows["kpi"].nunique()
    assert pd.read_parquet(out / "results.parquet").shape == rows.shape
    assert "paired differences" in (out / "report.md").read_text(encoding="utf-8")


def test_compare_table_and_auto_reps(cli, small_files):
    base, more = small_files
    result = cli(
        "compare", str(base), str(more), "--reps", "auto", "--ci-width", "0.02", "--days", "1", "--workers", "1"
    )
    assert result.code == 0, result.err
    assert "paired differences" in result.out and "replications reached the half-width 0.02" in result.out


def test_reps_auto_stops_at_the_width_or_the_cap():
    plan = Plan([("a", small())], reps=None, ci_width=1e-9, max_reps=7, days=1)
    result = compare_scenarios(plan, Sequential())
    assert result.reps == 7
    plan = Plan([("a", small())], reps=None, ci_width=0.5, days=1)
    assert compare_scenarios(plan, Sequential()).reps == 5
    plan = Plan([("a", small())], reps=None, ci_width=1e-9, max_reps=3, days=1)
    assert compare_scenarios(plan, Sequential()).reps == 3  # the cap holds below the first five too


def test_automatic_warmup_is_reported():
    plan = Plan([("a", small())], reps=2, days=3, warmup_days="auto")
    summary = compare_scenarios(plan, Sequential()).summary()
    assert summary["warmup_auto"]["method"].startswith("MSER-5")
    assert 0 <= summary["warmup_days"] < 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--reps", "auto"], "needs --ci-width"),
        (["--reps", "1"], "≥ 2"),
        (["--reps", "many"], "'auto'"),
        (["--kpi", "happiness", "--reps", "auto", "--ci-width", "1"], "unknown KPI"),
        (["--warmup-days", "soon"], "'auto'"),
        (["--set", "staffing.per_office=-1"], "≥ 0"),
    ],
)
def test_compare_bad_options_are_one_line(cli, small_files, args, needle):
    base, more = small_files
    result = cli("compare", str(base), str(more), "--days", "1", *args)
    assert result.code == 2 and needle in result.err and result.err.count("\n") == 1


# --- variants and the plan ----------------------------------------------------------------------------


def test_a_variant_is_the_first_file_with_set_then_its_own_overrides(small_files):
    base, more = small_files
    entries = plan_entries(
        [base, more],
        ["whistle.enabled=true", "streets.S2.staff=7"],
        ["no whistle: whistle.enabled=false; streets.S1.staff=9", "lean: staffing.per_office=2"],
    )
    assert [e.label for e in entries] == ["Small 3", "Small 30", "no whistle", "lean"]
    s3, s30, no_whistle, lean = (e.scenario for e in entries)
    assert s3.whistle.enabled and s30.whistle.enabled and s30.streets["S2"].staff == 7  # --set: every scenario
    assert not no_whistle.whistle.enabled and no_whistle.streets["S1"].staff == 9  # its own wins over --set
    assert no_whistle.streets["S2"].staff == 7 and no_whistle.name == "Small 3"  # of the first file, after --set
    assert lean.staffing.per_office == 2 and lean.whistle.enabled and lean.streets["S1"].staff is None
    assert entries[2].about() == {
        "file": str(base),
        "sets": ["whistle.enabled=true", "streets.S2.staff=7"],
        "variant": ["whistle.enabled=false", "streets.S1.staff=9"],
    }


def test_variant_text_is_split_where_a_value_cannot_hold_the_separator():
    v = parse_variant('quiet night: categories.noise.name="a;b"; arrivals.hour_profile=[1, 2]; description="c\\";d"')
    assert v.label == "quiet night"
    assert v.sets == ('categories.noise.name="a;b"', "arrivals.hour_profile=[1, 2]", 'description="c\\";d"')
    assert split_outside("a=1;;b={c=1; d=2};", ";") == ["a=1", "b={c=1; d=2}"]
    assert str(parse_variant(" no whistle :whistle.enabled=false ")) == "no whistle: whistle.enabled=false"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_variant_text_is_read_or_refused_naming_the_variant(text: str):
    try:
        variant = parse_variant(text)
    except ScenarioError as exc:
        assert str(exc).startswith("--variant ") and len(exc.problems) == 1
    else:
        assert variant.label and ":" not in variant.label and variant.sets


@pytest.mark.parametrize(
    ("variant", "needle"),
    [
        ("whistle.enabled=false", '--variant "whistle.enabled=false": no label'),
        ("no whistle: whistle.enabled", '--variant "no whistle": malformed override'),
        ("no whistle: whistle.enable=false", "--variant \"no whistle\": whistle.enable: unknown key 'enable'"),
        ("no whistle: whistle.enabled=maybe", '--variant "no whistle": whistle.enabled: invalid value: expected true'),
        ("no whistle:", '--variant "no whistle": no KEY=VALUE'),
        ("Small 3: whistle.enabled=true", '--variant "Small 3": the label is a compared scenario\'s name'),
        ("small 30: whistle.enabled=true", '--variant "small 30": the label is a compared scenario\'s name'),
        ("more: staffing.per_office=-1", '--variant "more": staffing.per_office: invalid value: expected a number ≥ 0'),
        ("more: grids.mode=separate; urban.grid_staff=2", '--variant "more"'),
    ],
)
def test_bad_variants_are_one_line_naming_the_variant(cli, small_files, variant, needle):
    base, more = small_files
    result = cli("compare", str(base), str(more), "--variant", variant, "--days", "1", "--workers", "1")
    assert result.code == 2 and result.err.startswith(f"error: {needle}"), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


def test_a_label_used_twice_is_refused(cli, small_files):
    base, _ = small_files
    twice = ["--variant", "lean: staffing.per_office=2", "--variant", "Lean: staffing.per_office=1"]
    result = cli("compare", str(base), *twice, "--days", "1")
    assert (
        result.code == 2 and result.err == 'error: --variant "Lean": two variants have this label; give each its own\n'
    )


def test_scenarios_that_are_the_same_after_every_override_are_refused(cli, small_files, tmp_path):
    base, more = small_files
    result = cli("compare", str(base), str(base), "--set", "grids.mode=separate", "--days", "1")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith('error: "Small 3 #1" and "Small 3 #2" are the same scenario after every override')
    assert "--variant" in result.err  # and says how to make one that differs
    result = cli("compare", str(base), "--variant", "same: staffing.per_office=3", "--days", "1")
    assert result.code == 2 and '"Small 3" and "same" are the same scenario' in result.err
    # --set brings the second file to the first's settings: only the names still differ
    result = cli("compare", str(base), str(more), "--set", "staffing.per_office=3", "--days", "1")
    assert result.code == 2 and '"Small 3" and "Small 30" are the same scenario' in result.err
    renamed = tmp_path / "renamed.toml"
    renamed.write_text('extends = "small.toml"\nname = "Other"\ndescription = "only the words differ"\n')
    with pytest.raises(SameScenarios, match='"Small 3" and "Other"'):
        build_plan([base, renamed])


def test_compare_one_file_with_variants_labels_tables_json_and_files(cli, small_files, tmp_path):
    base, _ = small_files
    out = tmp_path / "out"
    args = ["--variant", "more staff: staffing.per_office=30", "--variant", "whistle | $5: whistle.enabled=true"]
    result = cli(
        "compare", str(base), *args, "--reps", "5", "--days", "2", "--workers", "1", "--json", "--out", str(out)
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [s["name"] for s in data["scenarios"]] == ["Small 3", "more staff", "whistle | $5"]
    assert data["scenarios"][1]["variant"] == ["staffing.per_office=30"] and data["scenarios"][0]["variant"] is None
    assert [(p["name"], p["vs"]) for p in data["paired"]] == [("more staff", "Small 3"), ("whistle | $5", "Small 3")]
    wait = data["paired"][0]["kpis"]["street_wait_mean_h"]
    assert wait["diff"] < 0 and wait["verdict"] == "better"  # the variant differs where the model says it does
    rows = pd.read_csv(out / "results.csv")
    assert list(rows["scenario"].unique()) == ["Small 3", "more staff", "whistle | $5"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["scenarios"][1]["name"] == "more staff"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| KPI | Small 3 | more staff | whistle \\| $5 |" in report
    assert "- more staff: `" in report and "with `staffing.per_office=30` (a variant)" in report
    assert "## whistle \\| $5 against Small 3 (paired differences)" in report
    for name in ("backlog.png", "resolution_time.png", "kpis.png"):
        assert (out / name).stat().st_size > 0
    table = cli("compare", str(base), *args, "--reps", "2", "--days", "1", "--workers", "1")
    assert table.code == 0, table.err
    assert "more staff against Small 3: paired differences" in table.out
    assert "more staff: " in table.out and "with staffing.per_office=30" in table.out


def test_compare_api_takes_variants(small_files):
    base, _ = small_files
    frame = compare([base], variants=["more staff: staffing.per_office=30"], reps=2, days=1)
    assert list(frame["scenario"].unique()) == ["Small 3", "more staff"]
    loaded = small()
    frame = compare(
        [loaded], variants=[Variant("lean", ("staffing.per_office=2",))], overrides=["seed=5"], reps=2, days=1
    )
    assert list(frame["scenario"].unique()) == ["small", "lean"]
    with pytest.raises(SameScenarios):
        compare([loaded, loaded], reps=2, days=1)


# --- sweeps ---------------------------------------------------------------------------------------------


def test_designs():
    a = parse_vary("staffing.per_office=10,20,30")
    b = parse_vary("grids.mode=merged,separate")
    assert a == Vary("staffing.per_office", (10, 20, 30))
    assert len(design([a, b])) == 6
    points = design([a, b], "lhs", samples=8, seed=3)
    assert len(points) == 8
    assert all(10 <= p["staffing.per_office"] <= 30 and isinstance(p["staffing.per_office"], int) for p in points)
    assert {p["grids.mode"] for p in points} == {"merged", "separate"}
    strata = sorted(int((p["staffing.per_office"] - 10) / 20 * 8 - 1e-9) for p in points)
    assert strata == list(range(8))  # one point in each eighth of the range
    with pytest.raises(ScenarioError, match="did you mean 'per_office'"):
        parse_vary("staffing.per_ofice=1,2")
    assert parse_vary("arrivals.entry={unit=0.5, grid=0.5, street=0.0},{unit=1.0}").values[1] == {"unit": 1.0}


def test_sweep_api_and_cli(cli, small_files, tmp_path):
    base, _ = small_files
    frame = sweep(base, ["staffing.per_office=5,40"], reps=2, days=1)
    assert set(frame["staffing.per_office"]) == {5, 40}
    assert list(frame.columns) == ["point", "staffing.per_office", "replication", "kpi", "value"]
    out = tmp_path / "sweep"
    result = cli(
        "sweep",
        str(base),
        "--vary",
        "staffing.per_office=5,40",
        "--vary",
        "grids.mode=merged,separate",
        "--reps",
        "2",
        "--days",
        "1",
        "--workers",
        "1",
        "--json",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert len(data["points"]) == 4 and data["keys"] == ["staffing.per_office", "grids.mode"]
    waits = {
        (p["values"]["staffing.per_office"], p["values"]["grids.mode"]): p["kpis"]["street_wait_mean_h"]["mean"]
        for p in data["points"]
    }
    assert waits[(40, "merged")] < waits[(5, "merged")]
    assert (out / "sweep_staffing_per_office.png").exists() and (out / "sweep_grids_mode.png").exists()
    bad = cli("sweep", str(base), "--vary", "staffing.per_office=5,-3", "--reps", "2", "--days", "1")
    assert bad.code == 2 and "staffing.per_office" in bad.err


def test_a_sweep_runs_each_variant_as_a_series_over_the_same_points(cli, small_files, tmp_path):
    base, _ = small_files
    frame = sweep(base, ["staffing.per_office=5,40"], variants=["whistle: whistle.enabled=true"], reps=2, days=1)
    assert list(frame.columns) == ["variant", "point", "staffing.per_office", "replication", "kpi", "value"]
    assert set(zip(frame["variant"], frame["staffing.per_office"], strict=True)) == {
        ("Small 3", 5),
        ("Small 3", 40),
        ("whistle", 5),
        ("whistle", 40),
    }
    out = tmp_path / "sweep"
    args = ["--vary", "staffing.per_office=5,40", "--variant", "whistle: whistle.enabled=true"]
    result = cli("sweep", str(base), *args, "--reps", "2", "--days", "1", "--workers", "1", "--json", "--out", str(out))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["variants"] == [
        {"label": "Small 3", "sets": []},
        {"label": "whistle", "sets": ["whistle.enabled=true"]},
    ]
    assert [(p["variant"], p["point"]) for p in data["points"]] == [
        ("Small 3", 0),
        ("Small 3", 1),
        ("whistle", 0),
        ("whistle", 1),
    ]
    whistles = {
        (p["variant"], p["values"]["staffing.per_office"]): p["kpis"]["whistles"]["mean"] for p in data["points"]
    }
    assert whistles[("Small 3", 5)] == 0  # the file has no whistle; the variant's series has one
    assert list(pd.read_csv(out / "results.csv").columns[:3]) == ["variant", "point", "staffing.per_office"]
    from sim.experiment.report import sweep_figures

    ((_, figure),) = sweep_figures(data["points"], data["keys"])
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend[:2] == ["Small 3", "whistle"]  # one line per series
    table = cli("sweep", str(base), *args, "--reps", "2", "--days", "1", "--workers", "1")
    assert table.code == 0 and "× 2 series (Small 3, whistle)" in table.out
    clash = cli("sweep", str(base), "--vary", "staffing.per_office=5,40", "--variant", "x: staffing.per_office=9")
    assert clash.code == 2 and clash.err.startswith('error: --variant "x": sets staffing.per_office, which --vary')
    same = cli("sweep", str(base), "--vary", "staffing.per_office=5,40", "--variant", "x: whistle.enabled=false")
    assert same.code == 2 and '"Small 3" and "x" are the same scenario' in same.err


# --- staffing -----------------------------------------------------------------------------------------


def test_targets_parse_or_explain():
    t = ServiceTarget.parse("urgent.response<=2h@0.90")
    assert (t.priority, t.measure, t.hours, t.share) == ("urgent", "response", 2.0, 0.90)
    assert ServiceTarget.parse("all.wait<=30m@0.95").hours == 0.5
    assert ServiceTarget.parse("ordinary.resolution<=3d@0.8").hours == 72
    for bad in ("urgent.response<2h@0.9", "urgent.speed<=2h@0.9", "urgent.response<=2h@1.5", "soon"):
        with pytest.raises(StaffingError):
            ServiceTarget.parse(bad)


def test_staff_without_a_pool_finds_the_smallest_number(cli, small_files):
    base, _ = small_files
    result = cli("staff", str(base), "--target", "all.wait<=1h@0.85", "--reps", "2", "--days", "3", "--json")
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert [o["office"] for o in answer["offices"]] == ["S1", "S2", "T1"]
    for o in answer["offices"]:
        assert o["erlang_c_guess"] >= 1
        if o["met"]:
            tried = {int(k): v for k, v in o["tried"].items()}
            assert tried[o["staff"]] >= 0.85
            if o["staff"] - 1 in tried:
                assert tried[o["staff"] - 1] < 0.85
    s1 = next(o for o in answer["offices"] if o["office"] == "S1")
    s2 = next(o for o in answer["offices"] if o["office"] == "S2")
    assert s1["staff"] >= s2["staff"]  # twice the residents never needs fewer staff
    for o in answer["offices"]:
        # one set of numbers: what is reported at the answer is what the search decided on
        at = o["at_staff"]
        assert o["met"] == (at is not None and at["mean"] >= 0.85)
        assert (
            at is None
            or at["mean"] == o["tried"][str(o["staff"] if o["staff"] is not None else max(map(int, o["tried"])))]
        )
        sure = at is not None and at["ci"][0] >= 0.85
        expected = "met with 95% confidence" if o["met"] and sure else "met on the mean only" if o["met"] else "not met"
        assert o["verdict"] == expected


def test_staff_for_one_office_simulates_only_its_area(cli, small_files):
    base, _ = small_files
    result = cli(
        "staff", str(base), "--target", "all.wait<=1h@0.85", "--office", "S2", "--reps", "2", "--days", "3", "--json"
    )
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert [o["office"] for o in answer["offices"]] == ["S2"] and answer["simulated"] == ["S2"]
    bad = cli("staff", str(base), "--target", "all.wait<=1h@0.85", "--office", "S9")
    assert bad.code == 2 and "no street or town office S9" in bad.err and bad.err.count("\n") == 1


def test_a_restricted_district_keeps_the_offices_nodes_and_scales_the_departments():
    from sim.structure import build_district

    whole = build_district(small())
    part = whole.restricted(["S2"])
    assert part.offices() == ["S2"] and part.departments() == whole.departments()
    assert set(part.jurisdiction("S2")) == set(whole.jurisdiction("S2"))
    share = whole.node("S2")["residents"] / whole.node("district")["residents"]
    for dept in whole.departments():
        assert part.node(dept)["staff"] == max(1, round(whole.node(dept)["staff"] * share))
    assert part.node("district")["residents"] == whole.node("S2")["residents"]


def test_staff_with_a_pool_compares_three_splits(cli, small_files):
    base, _ = small_files
    result = cli(
        "staff", str(base), "--target", "all.wait<=1h@0.90", "--pool", "60", "--reps", "2", "--days", "3", "--json"
    )
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    names = [s["split"] for s in answer["splits"]]
    assert names == ["flat", "by population", "marginal allocation"]
    for split in answer["splits"]:
        assert sum(split["staff"].values()) == 60
    assert answer["splits"][0]["staff"] == {"S1": 20, "S2": 20, "T1": 20}
    assert answer["best"] in names and isinstance(answer["flat_is_best"], bool)
    assert answer["paired_vs_flat"][0]["kpis"]["target_share"]["verdict"]
    table = cli("staff", str(base), "--target", "all.wait<=1h@0.90", "--pool", "60", "--reps", "2", "--days", "2")
    assert "marginal allocation" in table.out and "district" in table.out
    too_small = cli("staff", str(base), "--target", "all.wait<=1h@0.90", "--pool", "2", "--reps", "2", "--days", "1")
    assert too_small.code == 2 and "cannot give each" in too_small.err


def test_staff_api_returns_rows():
    frame = staff(small(), "all.wait<=1h@0.9", pool=30, reps=2, days=1)
    assert list(frame.columns) == ["scenario", "replication", "kpi", "value"]
    assert {"flat", "by population", "marginal allocation"} <= set(frame["scenario"])
    assert frame["kpi"].str.startswith("target:").any()
