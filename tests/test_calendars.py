"""Duty calendars and rotas: shifts, overlaps, shifts past midnight, how a post's staff are put on its
shifts (never more on duty than there are staff), and the questions the engine asks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.calendars import WEEK_MIN, Calendar, Duty, allocate, deal, minutes, parse_days, parse_hours
from sim.scenario.schema import DutyBlock


def test_parse_days_and_hours():
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,sun") == [5, 6]
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_hours("08:30-17:30") == (510, 1050)
    assert parse_hours("22:00-06:00") == (1320, 1800)


def test_office_hours_with_a_duty_roster():
    shifts = [
        DutyBlock(days="mon-fri", hours="08:30-17:30", share=0.6),
        DutyBlock(days="mon-fri", hours="17:30-24:00", count=1),
        DutyBlock(days="sat-sun", count=2),
    ]
    cal = Calendar.from_shifts(shifts, staff=50)
    assert cal.at(9.0) == (30, 17.5)  # Monday 09:00
    assert cal.at(18.0)[0] == 1
    assert cal.at(3.0) == (0, 8.5)  # Monday before office hours: nobody
    assert cal.at(5 * 24 + 3)[0] == 2  # Saturday
    assert cal.next_rise(3.0) == 8.5
    assert cal.next_rise(9.0) == math.inf
    assert cal.staff_hours(0, 168) == pytest.approx(5 * 9 * 30 + 5 * 6.5 + 2 * 24 * 2)


def test_a_shift_past_midnight_wraps_into_the_next_day_and_week():
    cal = Calendar.from_shifts([DutyBlock(days="sun", hours="22:00-06:00", count=3)], staff=3)
    assert cal.at(6 * 24 + 23)[0] == 3  # Sunday 23:00
    assert cal.at(168 + 2)[0] == 3  # Monday 02:00 of the next week
    assert cal.at(168 + 7)[0] == 0


def test_offset_moves_time_zero_into_the_week():
    cal = Calendar.from_shifts([DutyBlock(days="wed", hours="00:00-24:00", count=1)], staff=1, offset_h=48.0)
    assert cal.at(1.0)[0] == 1  # time 0 is Wednesday 00:00
    assert cal.at(25.0)[0] == 0


def test_share_rounds_and_keeps_at_least_one():
    cal = Calendar.from_shifts([DutyBlock(share=0.05)], staff=11)
    assert cal.at(0)[0] == 1
    assert Calendar.from_shifts([DutyBlock(share=0.05)], staff=0).at(0)[0] == 0


def test_duty_cache_agrees_with_the_calendar():
    cal = Calendar.from_shifts([DutyBlock(days="mon-fri", hours="08:30-17:30", share=0.5)], staff=10)
    duty = Duty(cal)
    for t in [0.0, 8.4, 8.5, 10.0, 17.49, 17.5, 30.0, 100.0, 200.5, 1000.25]:
        assert duty.at(t) == cal.at(t)


def test_a_count_never_exceeds_the_staff():
    assert Calendar.from_shifts([DutyBlock(count=3)], staff=2).peak == 2
    assert Calendar.from_shifts([DutyBlock(count=1)], staff=0).peak == 0


def test_overlapping_half_shifts_share_the_staff_by_largest_remainder():
    early = DutyBlock(days="mon-sun", hours="08:00-16:00", share=0.5)
    late = DutyBlock(days="mon-sun", hours="12:00-20:00", share=0.5)
    # five grid workers: 2.5 + 2.5, the extra person to the earlier shift; never six in the overlap
    assert allocate([early, late], 5) == (3, 2)
    cal = Calendar.from_shifts([early, late], staff=5)
    assert cal.peak == 5
    assert cal.staff_hours(0, 24) == pytest.approx(5 * 8)
    # one worker works one of the two shifts, not both
    assert allocate([early, late], 1) == (1, 0)
    assert allocate([early, late], 7) == (4, 3)


def test_separate_grids_are_the_merged_teams_people_dealt_out():
    early = DutyBlock(days="mon-sun", hours="08:00-16:00", share=0.5)
    late = DutyBlock(days="mon-sun", hours="12:00-20:00", share=0.5)
    for staff in (1, 5, 7, 10, 23):
        counts = allocate([early, late], staff)
        merged = Calendar.from_counts([early, late], counts)
        parts = [Calendar.from_counts([early, late], c) for c in deal(counts, 5)]
        for minute in range(0, 24 * 60, 15):
            t = minute / 60
            assert sum(p.at(t)[0] for p in parts) == merged.at(t)[0]


# --- properties over random rotas ---------------------------------------------------------------------

DAYS = ["mon-sun", "mon-fri", "sat-sun", "mon", "fri-mon", "tue,thu"]


@st.composite
def shift_tables(draw):
    shifts = []
    for _ in range(draw(st.integers(1, 5))):
        start = draw(st.integers(0, 47)) * 30
        length = draw(st.integers(1, 47)) * 30
        end = (start + length) % 1440
        hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        if end == 0:
            hours = f"{start // 60:02d}:{start % 60:02d}-24:00"
        days = draw(st.sampled_from(DAYS))
        if draw(st.booleans()):
            shifts.append(
                DutyBlock(days=days, hours=hours, share=draw(st.sampled_from([0.05, 0.1, 0.25, 0.3, 0.5, 0.6, 1.0])))
            )
        else:
            shifts.append(DutyBlock(days=days, hours=hours, count=draw(st.integers(1, 4))))
    return shifts


def _load(shifts, counts):
    load = np.zeros(WEEK_MIN + 1, dtype=int)
    for shift, n in zip(shifts, counts, strict=True):
        for lo, hi in minutes(shift):
            load[lo:hi] += n
    return load


@settings(max_examples=300, deadline=None)
@given(shift_tables(), st.integers(1, 200))
def test_never_more_on_duty_than_staff(shifts, staff):
    counts = allocate(shifts, staff)
    assert _load(shifts, counts).max() <= staff
    assert Calendar.from_shifts(shifts, staff).peak <= staff


@settings(max_examples=300, deadline=None)
@given(shift_tables(), st.integers(1, 200))
def test_shares_get_the_person_hours_they_ask_for(shifts, staff):
    """Each share shift gets its quota rounded down or up (or the one person a night roster keeps), and
    where it got less, the staff were all on duty somewhere in its hours."""
    counts = allocate(shifts, staff)
    load = _load(shifts, counts)
    for shift, n in zip(shifts, counts, strict=True):
        if shift.share is None:
            continue
        quota = shift.share * staff
        full = max(int(load[lo:hi].max()) for lo, hi in minutes(shift)) >= staff
        assert n <= max(1, math.ceil(quota - 1e-9))
        if n < math.floor(quota + 1e-9):
            assert full
    # shifts that overlap share out their quotas' sum, rounded, unless the staff are all on duty
    shared = [i for i, sh in enumerate(shifts) if sh.share]
    groups = {i: {i} for i in shared}
    for i in shared:
        for j in shared:
            a, b = minutes(shifts[i]), minutes(shifts[j])
            if i < j and any(lo < h and l2 < hi for lo, hi in a for l2, h in b):
                merged = groups[i] | groups[j]
                for k in merged:
                    groups[k] = merged
    for group in {frozenset(g) for g in groups.values()}:
        seats = math.floor(sum(shifts[i].share * staff for i in group) + 0.5 + 1e-9)
        got = sum(counts[i] for i in group)
        full = any(max(int(load[lo:hi].max()) for lo, hi in minutes(shifts[i])) >= staff for i in group)
        assert got >= seats or full
        assert got <= max(1, seats)  # a group whose shares round to nobody keeps one person


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200))
def test_merged_and_separate_grids_have_the_same_people_on_duty_to_the_minute(staff):
    from sim.scenario import load_scenario
    from tests.conftest import SCENARIOS

    shifts = load_scenario(SCENARIOS / "haigang-2020.toml").posts.grid.on_duty
    counts = allocate(shifts, staff)
    merged = _load(shifts, counts)
    dealt = sum(_load(shifts, part) for part in deal(counts, 5))
    assert np.array_equal(merged, dealt)
