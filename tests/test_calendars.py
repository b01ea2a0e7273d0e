"""Duty calendars: shifts, overlaps, shifts past midnight, and the questions the engine asks."""

from __future__ import annotations

import math

import pytest

from sim.calendars import Calendar, Duty, parse_days, parse_hours
from sim.scenario.schema import Shift


def test_parse_days_and_hours():
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,sun") == [5, 6]
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_hours("08:30-17:30") == (510, 1050)
    assert parse_hours("22:00-06:00") == (1320, 1800)


def test_office_hours_with_a_duty_roster():
    shifts = [
        Shift(days="mon-fri", hours="08:30-17:30", share=0.6),
        Shift(days="mon-fri", hours="17:30-24:00", count=1),
        Shift(days="sat-sun", count=2),
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
    cal = Calendar.from_shifts([Shift(days="sun", hours="22:00-06:00", count=3)], staff=0)
    assert cal.at(6 * 24 + 23)[0] == 3  # Sunday 23:00
    assert cal.at(168 + 2)[0] == 3  # Monday 02:00 of the next week
    assert cal.at(168 + 7)[0] == 0


def test_offset_moves_time_zero_into_the_week():
    cal = Calendar.from_shifts([Shift(days="wed", hours="00:00-24:00", count=1)], staff=0, offset_h=48.0)
    assert cal.at(1.0)[0] == 1  # time 0 is Wednesday 00:00
    assert cal.at(25.0)[0] == 0


def test_share_rounds_and_keeps_at_least_one():
    cal = Calendar.from_shifts([Shift(share=0.05)], staff=11)
    assert cal.at(0)[0] == 1
    assert Calendar.from_shifts([Shift(share=0.05)], staff=0).at(0)[0] == 0


def test_duty_cache_agrees_with_the_calendar():
    cal = Calendar.from_shifts([Shift(days="mon-fri", hours="08:30-17:30", share=0.5)], staff=10)
    duty = Duty(cal)
    for t in [0.0, 8.4, 8.5, 10.0, 17.49, 17.5, 30.0, 100.0, 200.5, 1000.25]:
        assert duty.at(t) == cal.at(t)
