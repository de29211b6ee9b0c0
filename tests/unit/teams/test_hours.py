"""Opening hours: parsing, validation, open/closed, next opening, daylight saving time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from lykta.teams.hours import (
    DayException,
    Period,
    check_exceptions,
    check_periods,
    is_open,
    is_within_hours,
    next_opening,
    parse_exception,
    parse_hhmm,
    parse_period,
)

STHLM = "Europe/Stockholm"
OSLO = "Europe/Oslo"
NORDIC = [STHLM, OSLO]
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def t(text: str) -> dt.time:
    return parse_hhmm(text)


def period(weekday: int, opens: str, closes: str) -> Period:
    return Period(weekday, t(opens), t(closes))


def closed_on(day: dt.date) -> DayException:
    return DayException(day, None, None)


def special(day: dt.date, opens: str, closes: str) -> DayException:
    return DayException(day, t(opens), t(closes))


def local(
    tz: str, year: int, month: int, day: int, hour: int, minute: int = 0, *rest: int, fold: int = 0
) -> dt.datetime:
    """An aware datetime on the wall clock of ``tz``: local(tz, 2026, 3, 4, 18, 0)."""
    second, microsecond = (*rest, 0, 0)[:2]
    naive = dt.datetime(year, month, day, hour, minute, second, microsecond)  # noqa: DTZ001
    return naive.replace(tzinfo=ZoneInfo(tz), fold=fold)


def utc(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def open_minutes(tz: str, periods: list[Period], start: dt.datetime, end: dt.datetime) -> int:
    """How many whole real minutes in ``[start, end)`` are within hours."""
    count, now = 0, start
    while now < end:
        count += is_within_hours(now, tz, periods, [])
        now += dt.timedelta(minutes=1)
    return count


# Monday to Friday evenings, the usual field-group chat.
EVENINGS = [period(day, "18:00", "22:00") for day in (MON, TUE, WED, THU, FRI)]


# --- parse_hhmm -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00", dt.time(0, 0)),
        ("09:05", dt.time(9, 5)),
        ("12:00", dt.time(12, 0)),
        ("23:59", dt.time(23, 59)),
        ("24:00", dt.time(0, 0)),
    ],
)
def test_parse_hhmm_accepts_24h_times(text: str, expected: dt.time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "25:00",
        "24:01",
        "24:30",
        "12:60",
        "9:5",
        "9:05",
        "09:5",
        "0900",
        "09.00",
        "09h00",
        "09:00:00",
        " 09:00",
        "09:00 ",
        "09:00\n",
        "-1:00",
        "ab:cd",
        "٠٩:٠٠",  # Arabic-Indic digits match \d but are not accepted
        "０９:００",  # full-width digits
    ],
)
def test_parse_hhmm_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


def test_parse_period_builds_a_checked_period() -> None:
    assert parse_period(FRI, "22:00", "02:00") == Period(FRI, dt.time(22), dt.time(2))
    assert parse_period(MON, "18:00", "24:00") == Period(MON, dt.time(18), dt.time(0))
    assert parse_period(MON, "00:00", "12:00") == Period(MON, dt.time(0), dt.time(12))


@pytest.mark.parametrize(
    ("weekday", "opens", "closes", "message"),
    [
        (MON, "24:00", "02:00", "only allowed as a closing time"),
        (MON, "9:00", "17:00", "HH:MM"),
        (MON, "09:00", "17:60", "HH:MM"),
        (7, "09:00", "17:00", "Weekday"),
        (MON, "09:00", "09:00", "same"),
        (MON, "00:00", "24:00", "same"),
    ],
)
def test_parse_period_rejects_bad_input(
    weekday: int, opens: str, closes: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(weekday, opens, closes)


def test_parse_exception() -> None:
    day = dt.date(2026, 12, 24)
    assert parse_exception(day, None, None) == DayException(day, None, None)
    assert parse_exception(day, "10:00", "24:00") == DayException(day, dt.time(10), dt.time(0))


@pytest.mark.parametrize(
    ("opens", "closes", "message"),
    [
        ("10:00", None, "both"),
        (None, "14:00", "both"),
        ("24:00", "02:00", "only allowed as a closing time"),
        ("10:00", "25:00", "HH:MM"),
        ("10:00", "10:00", "same"),
    ],
)
def test_parse_exception_rejects_bad_input(
    opens: str | None, closes: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_exception(dt.date(2026, 12, 24), opens, closes)


# --- check_periods / check_exceptions ---------------------------------------------------


def test_check_periods_accepts_and_sorts() -> None:
    periods = [
        period(TUE, "13:00", "15:00"),
        period(MON, "18:00", "22:00"),
        period(TUE, "10:00", "12:00"),
        period(TUE, "12:00", "13:00"),  # adjacent periods touch, they do not overlap
        period(SUN, "22:00", "24:00"),
    ]
    assert check_periods(periods) == [
        period(MON, "18:00", "22:00"),
        period(TUE, "10:00", "12:00"),
        period(TUE, "12:00", "13:00"),
        period(TUE, "13:00", "15:00"),
        period(SUN, "22:00", "24:00"),
    ]
    assert check_periods([]) == []


def test_check_periods_accepts_a_full_day_as_two_halves_and_adjacent_midnights() -> None:
    periods = [
        period(SAT, "00:00", "12:00"),
        period(SAT, "12:00", "24:00"),
        period(SUN, "00:00", "02:00"),
        period(FRI, "20:00", "24:00"),
    ]
    assert len(check_periods(periods)) == 4


@pytest.mark.parametrize("weekday", [-1, 7, 10])
def test_check_periods_rejects_bad_weekday(weekday: int) -> None:
    with pytest.raises(ValueError, match="Weekday must be 0"):
        check_periods([Period(weekday, dt.time(9), dt.time(17))])


def test_check_periods_rejects_equal_times() -> None:
    with pytest.raises(ValueError, match="same"):
        check_periods([period(WED, "09:00", "09:00")])


@pytest.mark.parametrize(
    "periods",
    [
        pytest.param([period(TUE, "09:00", "11:00"), period(TUE, "10:00", "12:00")], id="partial"),
        pytest.param([period(TUE, "09:00", "17:00"), period(TUE, "10:00", "11:00")], id="inside"),
        pytest.param([period(TUE, "09:00", "11:00"), period(TUE, "09:00", "11:00")], id="twice"),
        pytest.param([period(TUE, "09:00", "11:00"), period(TUE, "08:00", "09:01")], id="1min"),
        pytest.param([period(MON, "22:00", "02:00"), period(TUE, "01:00", "03:00")], id="night"),
        pytest.param([period(SUN, "23:00", "01:00"), period(MON, "00:30", "02:00")], id="wrap"),
        pytest.param([period(MON, "20:00", "24:00"), period(MON, "23:00", "23:30")], id="24:00"),
    ],
)
def test_check_periods_rejects_overlaps(periods: list[Period]) -> None:
    with pytest.raises(ValueError, match="overlap"):
        check_periods(periods)


def test_check_periods_overlap_message_names_both_periods() -> None:
    with pytest.raises(ValueError, match=r"Tuesday 09:00-11:00 and Tuesday 10:00-12:00"):
        check_periods([period(TUE, "10:00", "12:00"), period(TUE, "09:00", "11:00")])
    with pytest.raises(ValueError, match=r"Sunday 23:00-24:00"):
        check_periods([period(SUN, "23:00", "24:00"), period(SUN, "23:30", "23:45")])


def test_check_exceptions() -> None:
    christmas, new_year = dt.date(2026, 12, 24), dt.date(2026, 12, 31)
    ok = [special(new_year, "22:00", "02:00"), closed_on(christmas)]
    assert check_exceptions(ok) == [closed_on(christmas), special(new_year, "22:00", "02:00")]
    with pytest.raises(ValueError, match="More than one exception for 2026-12-24"):
        check_exceptions([closed_on(christmas), special(christmas, "10:00", "12:00")])
    with pytest.raises(ValueError, match="both"):
        check_exceptions([DayException(christmas, dt.time(10), None)])
    with pytest.raises(ValueError, match="same"):
        check_exceptions([special(christmas, "10:00", "10:00")])


# --- is_within_hours / is_open ----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(STHLM, 2026, 3, 4, 17, 59, 59, 999999), False),
        (local(STHLM, 2026, 3, 4, 18, 0), True),  # opens is inclusive
        (local(STHLM, 2026, 3, 4, 20, 0), True),
        (local(STHLM, 2026, 3, 4, 21, 59, 59, 999999), True),
        (local(STHLM, 2026, 3, 4, 22, 0), False),  # closes is exclusive
        (local(STHLM, 2026, 3, 4, 3, 0), False),
    ],
)
def test_ordinary_weekday_boundaries(now: dt.datetime, expected: bool) -> None:
    assert is_within_hours(now, STHLM, EVENINGS, []) is expected


def test_now_may_be_in_any_zone() -> None:
    assert is_within_hours(utc(2026, 3, 4, 17, 0), STHLM, EVENINGS, [])  # 18:00 CET
    assert not is_within_hours(utc(2026, 3, 4, 21, 0), STHLM, EVENINGS, [])  # 22:00 CET
    new_york = local("America/New_York", 2026, 3, 4, 12, 30)  # 18:30 in Stockholm
    assert is_within_hours(new_york, STHLM, EVENINGS, [])
    # The same instant is outside a team in a zone where it is 12:30.
    assert not is_within_hours(new_york, "America/New_York", EVENINGS, [])


def test_closed_day() -> None:
    assert not is_within_hours(local(STHLM, 2026, 3, 7, 19, 0), STHLM, EVENINGS, [])  # Saturday
    assert not is_within_hours(local(STHLM, 2026, 3, 8, 19, 0), STHLM, EVENINGS, [])  # Sunday
    assert not is_within_hours(local(STHLM, 2026, 3, 4, 19, 0), STHLM, [], [])


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(9, 59, False), (10, 0, True), (11, 59, True), (12, 0, False), (12, 30, False),
     (13, 0, True), (14, 59, True), (15, 0, False), (19, 0, True), (20, 59, True), (21, 0, False)],
)  # fmt: skip
def test_several_periods_a_day(hour: int, minute: int, expected: bool) -> None:
    periods = [
        period(TUE, "19:00", "21:00"),
        period(TUE, "10:00", "12:00"),
        period(TUE, "13:00", "15:00"),
    ]
    now = local(STHLM, 2026, 3, 3, hour, minute)
    assert is_within_hours(now, STHLM, periods, []) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(STHLM, 2026, 3, 6, 21, 59), False),  # Friday before opening
        (local(STHLM, 2026, 3, 6, 22, 0), True),
        (local(STHLM, 2026, 3, 6, 23, 59), True),
        (local(STHLM, 2026, 3, 7, 0, 0), True),  # Saturday, still Friday's period
        (local(STHLM, 2026, 3, 7, 1, 59), True),
        (local(STHLM, 2026, 3, 7, 2, 0), False),
        (local(STHLM, 2026, 3, 7, 22, 30), False),  # Saturday night has no period
        (local(STHLM, 2026, 3, 6, 1, 0), False),  # Thursday had no late period
    ],
)
def test_period_past_midnight_belongs_to_the_day_it_opens(now: dt.datetime, expected: bool) -> None:
    assert is_within_hours(now, STHLM, [period(FRI, "22:00", "02:00")], []) is expected


def test_period_past_midnight_from_sunday_into_monday() -> None:
    periods = [period(SUN, "23:00", "01:00")]
    assert is_within_hours(local(STHLM, 2026, 3, 9, 0, 30), STHLM, periods, [])  # Monday
    assert not is_within_hours(local(STHLM, 2026, 3, 9, 1, 0), STHLM, periods, [])


def test_closing_at_24_00_means_midnight() -> None:
    periods = [period(FRI, "20:00", "24:00")]
    assert is_within_hours(local(STHLM, 2026, 3, 6, 23, 59, 59), STHLM, periods, [])
    assert not is_within_hours(local(STHLM, 2026, 3, 7, 0, 0), STHLM, periods, [])


def test_holiday_exception_closes_a_normal_day() -> None:
    christmas_eve = dt.date(2026, 12, 24)  # a Thursday
    exceptions = [closed_on(christmas_eve), closed_on(dt.date(2026, 12, 25))]
    assert is_within_hours(local(STHLM, 2026, 12, 17, 19, 0), STHLM, EVENINGS, exceptions)
    assert not is_within_hours(local(STHLM, 2026, 12, 24, 19, 0), STHLM, EVENINGS, exceptions)
    assert not is_within_hours(local(STHLM, 2026, 12, 25, 19, 0), STHLM, EVENINGS, exceptions)
    assert is_within_hours(local(STHLM, 2026, 12, 23, 19, 0), STHLM, EVENINGS, exceptions)


def test_exception_replaces_the_hours_of_a_normal_day() -> None:
    exceptions = [special(dt.date(2026, 12, 30), "14:00", "18:00")]  # a Wednesday
    assert is_within_hours(local(STHLM, 2026, 12, 30, 15, 0), STHLM, EVENINGS, exceptions)
    assert not is_within_hours(local(STHLM, 2026, 12, 30, 18, 0), STHLM, EVENINGS, exceptions)
    assert not is_within_hours(local(STHLM, 2026, 12, 30, 19, 0), STHLM, EVENINGS, exceptions)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(STHLM, 2026, 6, 13, 19, 59), False),
        (local(STHLM, 2026, 6, 13, 20, 0), True),
        (local(STHLM, 2026, 6, 13, 23, 0), True),
        (local(STHLM, 2026, 6, 14, 1, 59), True),
        (local(STHLM, 2026, 6, 14, 2, 0), False),
        (local(STHLM, 2026, 6, 20, 23, 0), False),  # the Saturday after: closed as usual
    ],
)
def test_exception_opens_a_normally_closed_day(now: dt.datetime, expected: bool) -> None:
    # A Saturday event night (school's out), past midnight, on a weekdays-only team.
    exceptions = [special(dt.date(2026, 6, 13), "20:00", "02:00")]
    assert is_within_hours(now, STHLM, EVENINGS, exceptions) is expected


def test_exception_affects_only_periods_opening_on_its_date() -> None:
    late = [period(day, "20:00", "02:00") for day in (MON, TUE, WED, THU, FRI)]
    exceptions = [closed_on(dt.date(2026, 12, 24)), closed_on(dt.date(2027, 1, 1))]
    # Wednesday's period still runs into the closed Christmas Eve ...
    assert is_within_hours(local(STHLM, 2026, 12, 24, 1, 0), STHLM, late, exceptions)
    # ... but Christmas Eve's own period is gone, and with it the early hours after it.
    assert not is_within_hours(local(STHLM, 2026, 12, 24, 21, 0), STHLM, late, exceptions)
    assert not is_within_hours(local(STHLM, 2026, 12, 25, 1, 0), STHLM, late, exceptions)
    # A New Year's Eve special past midnight runs into the closed New Year's Day.
    exceptions.append(special(dt.date(2026, 12, 31), "22:00", "03:00"))
    assert is_within_hours(local(STHLM, 2027, 1, 1, 2, 30), STHLM, late, exceptions)
    assert not is_within_hours(local(STHLM, 2027, 1, 1, 3, 0), STHLM, late, exceptions)


def test_accepts_generators() -> None:
    now = local(STHLM, 2026, 3, 4, 19, 0)
    no_exceptions: list[DayException] = []
    assert is_within_hours(now, STHLM, (p for p in EVENINGS), (e for e in no_exceptions))
    assert next_opening(now, STHLM, (p for p in EVENINGS), iter([])) == now


def test_naive_now_and_unknown_zone_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_within_hours(dt.datetime(2026, 3, 4, 19, 0), STHLM, EVENINGS, [])  # noqa: DTZ001
    with pytest.raises(ValueError, match="Unknown time zone"):
        is_within_hours(utc(2026, 3, 4, 18, 0), "Europe/Lykta", EVENINGS, [])
    with pytest.raises(ValueError, match="Unknown time zone"):
        next_opening(utc(2026, 3, 4, 18, 0), "", EVENINGS, [])


@pytest.mark.parametrize(("workers", "expected"), [(-1, False), (0, False), (1, True), (3, True)])
def test_is_open_needs_a_worker_on_duty(workers: int, expected: bool) -> None:
    now = local(STHLM, 2026, 3, 4, 19, 0)
    assert is_open(now, STHLM, EVENINGS, [], workers_on_duty=workers) is expected


def test_is_open_needs_hours_too() -> None:
    assert not is_open(local(STHLM, 2026, 3, 4, 12, 0), STHLM, EVENINGS, [], workers_on_duty=5)
    holiday = [closed_on(dt.date(2026, 12, 24))]
    assert not is_open(local(STHLM, 2026, 12, 24, 19, 0), STHLM, EVENINGS, holiday, 2)


# --- next_opening -----------------------------------------------------------------------


def test_next_opening_is_now_when_within_hours() -> None:
    now = local(STHLM, 2026, 3, 4, 19, 15)
    result = next_opening(now, STHLM, EVENINGS, [])
    assert result == now
    assert result is not None
    assert result.tzinfo is dt.UTC
    assert next_opening(local(STHLM, 2026, 3, 4, 18, 0), STHLM, EVENINGS, []) == utc(
        2026, 3, 4, 17, 0
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(STHLM, 2026, 3, 4, 10, 0), utc(2026, 3, 4, 17, 0)),  # later today
        (local(STHLM, 2026, 3, 4, 22, 0), utc(2026, 3, 5, 17, 0)),  # at closing: tomorrow
        (local(STHLM, 2026, 3, 6, 22, 0), utc(2026, 3, 9, 17, 0)),  # Friday: over the weekend
        (local(STHLM, 2026, 3, 7, 12, 0), utc(2026, 3, 9, 17, 0)),  # Saturday
        (local(STHLM, 2026, 3, 8, 23, 59), utc(2026, 3, 9, 17, 0)),  # Sunday
    ],
)
def test_next_opening_when_closed(now: dt.datetime, expected: dt.datetime) -> None:
    result = next_opening(now, STHLM, EVENINGS, [])
    assert result == expected
    assert result is not None
    assert result.tzinfo is dt.UTC


def test_next_opening_over_a_holiday() -> None:
    exceptions = [closed_on(dt.date(2026, 12, 24)), closed_on(dt.date(2026, 12, 25))]
    now = local(STHLM, 2026, 12, 23, 22, 30)  # Wednesday after closing
    assert next_opening(now, STHLM, EVENINGS, exceptions) == utc(2026, 12, 28, 17, 0)
    # A special opening on the Sunday in between comes first.
    exceptions.append(special(dt.date(2026, 12, 27), "14:00", "16:00"))
    assert next_opening(now, STHLM, EVENINGS, exceptions) == utc(2026, 12, 27, 13, 0)


def test_next_opening_within_the_horizon_only() -> None:
    mondays = [period(MON, "18:00", "22:00")]
    tuesday = local(STHLM, 2026, 3, 3, 12, 0)
    assert next_opening(tuesday, STHLM, mondays, [], horizon_days=5) is None
    assert next_opening(tuesday, STHLM, mondays, [], horizon_days=6) == utc(2026, 3, 9, 17, 0)
    assert next_opening(tuesday, STHLM, [], []) is None
    closed_weeks = [closed_on(dt.date(2026, 3, 9)), closed_on(dt.date(2026, 3, 16))]
    assert next_opening(tuesday, STHLM, mondays, closed_weeks) is None
    assert next_opening(tuesday, STHLM, mondays, closed_weeks, 20) == utc(2026, 3, 23, 17, 0)
    morning = local(STHLM, 2026, 3, 9, 8, 0)
    assert next_opening(morning, STHLM, mondays, [], horizon_days=0) == utc(2026, 3, 9, 17, 0)
    with pytest.raises(ValueError, match="horizon_days"):
        next_opening(tuesday, STHLM, mondays, [], horizon_days=-1)


def test_next_opening_from_inside_yesterdays_late_period_is_now() -> None:
    now = local(STHLM, 2026, 3, 7, 1, 0)  # Saturday, in Friday's 22:00-02:00
    assert next_opening(now, STHLM, [period(FRI, "22:00", "02:00")], []) == now


# --- daylight saving time ---------------------------------------------------------------
# 2026-03-29 (Sunday): 02:00 CET -> 03:00 CEST, at 01:00 UTC; 02:00-02:59 does not exist.
# 2026-10-25 (Sunday): 03:00 CEST -> 02:00 CET, at 01:00 UTC; 02:00-02:59 happens twice.
# Norway follows the same EU rules and the same offsets.

SUNDAYS = [period(SUN, "09:00", "17:00"), period(SAT, "09:00", "17:00")]


@pytest.mark.parametrize("tz", NORDIC)
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 28, 7, 59), False),  # Saturday, winter time: 09:00 = 08:00 UTC
        (utc(2026, 3, 28, 8, 0), True),
        (utc(2026, 3, 28, 15, 59), True),
        (utc(2026, 3, 28, 16, 0), False),
        (utc(2026, 3, 29, 6, 59, 59), False),  # Sunday, summer time: 09:00 = 07:00 UTC
        (utc(2026, 3, 29, 7, 0), True),
        (utc(2026, 3, 29, 14, 59, 59), True),
        (utc(2026, 3, 29, 15, 0), False),
        (utc(2026, 10, 24, 6, 59), False),  # Saturday, summer time
        (utc(2026, 10, 24, 7, 0), True),
        (utc(2026, 10, 24, 15, 0), False),
        (utc(2026, 10, 25, 7, 59, 59), False),  # Sunday, winter time: 09:00 = 08:00 UTC
        (utc(2026, 10, 25, 8, 0), True),
        (utc(2026, 10, 25, 15, 59, 59), True),
        (utc(2026, 10, 25, 16, 0), False),
    ],
)
def test_dst_change_days_keep_wall_clock_hours(tz: str, now: dt.datetime, expected: bool) -> None:
    assert is_within_hours(now, tz, SUNDAYS, []) is expected


@pytest.mark.parametrize("tz", NORDIC)
def test_next_opening_across_the_spring_change(tz: str) -> None:
    saturday_evening = local(tz, 2026, 3, 28, 20, 0)  # 19:00 UTC, still winter time
    assert next_opening(saturday_evening, tz, SUNDAYS, []) == utc(2026, 3, 29, 7, 0)
    friday_evening = local(tz, 2026, 3, 27, 22, 0)
    assert next_opening(friday_evening, tz, EVENINGS, []) == utc(2026, 3, 30, 16, 0)


@pytest.mark.parametrize("tz", NORDIC)
def test_next_opening_across_the_autumn_change(tz: str) -> None:
    saturday_evening = local(tz, 2026, 10, 24, 20, 0)  # 18:00 UTC, still summer time
    assert next_opening(saturday_evening, tz, SUNDAYS, []) == utc(2026, 10, 25, 8, 0)
    friday_evening = local(tz, 2026, 10, 23, 22, 0)
    assert next_opening(friday_evening, tz, EVENINGS, []) == utc(2026, 10, 26, 17, 0)


@pytest.mark.parametrize("tz", NORDIC)
def test_spring_night_period_loses_the_skipped_hour(tz: str) -> None:
    # 01:00-04:00 on the spring day: 01:00 CET (00:00 UTC) to 04:00 CEST (02:00 UTC).
    periods = [period(SUN, "01:00", "04:00")]
    assert not is_within_hours(utc(2026, 3, 28, 23, 59, 59), tz, periods, [])
    assert is_within_hours(utc(2026, 3, 29, 0, 0), tz, periods, [])
    assert is_within_hours(local(tz, 2026, 3, 29, 1, 59, 59), tz, periods, [])
    assert is_within_hours(local(tz, 2026, 3, 29, 3, 0), tz, periods, [])  # just after the jump
    assert is_within_hours(utc(2026, 3, 29, 1, 59, 59), tz, periods, [])
    assert not is_within_hours(utc(2026, 3, 29, 2, 0), tz, periods, [])
    minutes = open_minutes(tz, periods, utc(2026, 3, 28, 20, 0), utc(2026, 3, 29, 6, 0))
    assert minutes == 2 * 60
    saturday_evening = local(tz, 2026, 3, 28, 20, 0)
    assert next_opening(saturday_evening, tz, periods, []) == utc(2026, 3, 29, 0, 0)


@pytest.mark.parametrize("tz", NORDIC)
def test_autumn_night_period_counts_the_doubled_hour_once(tz: str) -> None:
    # 01:00-04:00 on the autumn day: 01:00 CEST (23:00 UTC) to 04:00 CET (03:00 UTC).
    periods = [period(SUN, "01:00", "04:00")]
    assert not is_within_hours(utc(2026, 10, 24, 22, 59, 59), tz, periods, [])
    assert is_within_hours(utc(2026, 10, 24, 23, 0), tz, periods, [])
    assert is_within_hours(local(tz, 2026, 10, 25, 2, 30, fold=0), tz, periods, [])  # CEST
    assert is_within_hours(local(tz, 2026, 10, 25, 2, 30, fold=1), tz, periods, [])  # CET
    assert is_within_hours(utc(2026, 10, 25, 2, 59, 59), tz, periods, [])
    assert not is_within_hours(utc(2026, 10, 25, 3, 0), tz, periods, [])
    minutes = open_minutes(tz, periods, utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 6, 0))
    assert minutes == 4 * 60
    saturday_evening = local(tz, 2026, 10, 24, 20, 0)
    assert next_opening(saturday_evening, tz, periods, []) == utc(2026, 10, 24, 23, 0)


def test_nonexistent_opening_time_moves_to_the_jump() -> None:
    # 02:30 does not exist on 2026-03-29: the period opens when the clocks jump to 03:00.
    periods = [period(SUN, "02:30", "04:00")]
    assert not is_within_hours(utc(2026, 3, 29, 0, 59, 59), STHLM, periods, [])
    assert is_within_hours(utc(2026, 3, 29, 1, 0), STHLM, periods, [])
    saturday_evening = local(STHLM, 2026, 3, 28, 20, 0)
    assert next_opening(saturday_evening, STHLM, periods, []) == utc(2026, 3, 29, 1, 0)
    # The same hours a week later are ordinary summer time again: 02:30 CEST = 00:30 UTC.
    assert next_opening(utc(2026, 3, 29, 3, 0), STHLM, periods, []) == utc(2026, 4, 5, 0, 30)


def test_nonexistent_closing_time_moves_to_the_jump() -> None:
    # Saturday 22:00-02:30 closes at the jump (01:00 UTC): 21:00-01:00 UTC, 4 real hours.
    periods = [period(SAT, "22:00", "02:30")]
    assert is_within_hours(utc(2026, 3, 29, 0, 59, 59), STHLM, periods, [])
    assert not is_within_hours(utc(2026, 3, 29, 1, 0), STHLM, periods, [])
    minutes = open_minutes(STHLM, periods, utc(2026, 3, 28, 18, 0), utc(2026, 3, 29, 4, 0))
    assert minutes == 4 * 60


def test_period_wholly_inside_the_gap_is_empty_that_day() -> None:
    periods = [period(SUN, "02:00", "02:45")]
    minutes = open_minutes(STHLM, periods, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 4, 0))
    assert minutes == 0
    saturday_evening = local(STHLM, 2026, 3, 28, 20, 0)
    # Skipped on the change day, the next opening is a week later: 02:00 CEST = 00:00 UTC.
    assert next_opening(saturday_evening, STHLM, periods, []) == utc(2026, 4, 5, 0, 0)


def test_ambiguous_opening_time_is_its_first_occurrence() -> None:
    # 02:30-03:30 on 2026-10-25: opens at 02:30 CEST (00:30 UTC), closes 03:30 CET (02:30 UTC).
    periods = [period(SUN, "02:30", "03:30")]
    assert not is_within_hours(utc(2026, 10, 25, 0, 29, 59), STHLM, periods, [])
    assert is_within_hours(utc(2026, 10, 25, 0, 30), STHLM, periods, [])
    assert is_within_hours(utc(2026, 10, 25, 2, 29, 59), STHLM, periods, [])
    assert not is_within_hours(utc(2026, 10, 25, 2, 30), STHLM, periods, [])
    saturday_evening = local(STHLM, 2026, 10, 24, 20, 0)
    assert next_opening(saturday_evening, STHLM, periods, []) == utc(2026, 10, 25, 0, 30)


def test_ambiguous_closing_time_is_its_first_occurrence() -> None:
    # Saturday 22:00-02:30 closes at the first 02:30 (CEST, 00:30 UTC), not the second.
    periods = [period(SAT, "22:00", "02:30")]
    assert is_within_hours(utc(2026, 10, 25, 0, 29, 59), STHLM, periods, [])
    assert not is_within_hours(local(STHLM, 2026, 10, 25, 2, 30, fold=0), STHLM, periods, [])
    assert not is_within_hours(local(STHLM, 2026, 10, 25, 2, 0, fold=1), STHLM, periods, [])
    minutes = open_minutes(STHLM, periods, utc(2026, 10, 24, 18, 0), utc(2026, 10, 25, 4, 0))
    assert minutes == int(4.5 * 60)


def test_midnight_closing_on_the_change_days() -> None:
    periods = [period(SAT, "20:00", "24:00")]
    # Saturday before the spring change is winter time: midnight is 23:00 UTC.
    assert is_within_hours(utc(2026, 3, 28, 22, 59, 59), STHLM, periods, [])
    assert not is_within_hours(utc(2026, 3, 28, 23, 0), STHLM, periods, [])
    # Saturday before the autumn change is summer time: midnight is 22:00 UTC.
    assert is_within_hours(utc(2026, 10, 24, 21, 59, 59), STHLM, periods, [])
    assert not is_within_hours(utc(2026, 10, 24, 22, 0), STHLM, periods, [])


def test_exception_on_a_change_day_uses_that_days_offset() -> None:
    exceptions = [special(dt.date(2026, 3, 29), "12:00", "14:00")]
    assert next_opening(local(STHLM, 2026, 3, 28, 12, 0), STHLM, [], exceptions) == utc(
        2026, 3, 29, 10, 0
    )


def test_half_hour_gap_elsewhere() -> None:
    # Lord Howe Island skips 02:00-02:30 on the first Sunday of October (+10:30 -> +11:00).
    tz = "Australia/Lord_Howe"
    periods = [period(SUN, "02:10", "05:00")]
    assert next_opening(local(tz, 2026, 10, 3, 20, 0), tz, periods, []) == utc(2026, 10, 3, 15, 30)
    assert not is_within_hours(utc(2026, 10, 3, 15, 29, 59), tz, periods, [])
    assert is_within_hours(utc(2026, 10, 3, 15, 30), tz, periods, [])
