"""Opening hours: is a team open right now, and when does it open next?

Pure functions over plain values (no database access). The rules, in one place:

* All times are local wall-clock times in the team's IANA time zone on the date in
  question: "09:00" means 09:00 on that day's clock, whatever the UTC offset is.
* A period is ``[opens, closes)``: the opening minute is inside, the closing one is not.
* ``"24:00"`` (allowed only as a closing time) is parsed as ``dt.time(0, 0)``. A period
  whose ``closes <= opens`` ends on the *following* day, so ``closes == 00:00`` means "until
  midnight" and 22:00-02:00 runs past midnight. ``opens == closes`` is rejected: a full day
  is written as two periods (00:00-12:00 and 12:00-24:00).
* A period belongs to the day it opens on. A :class:`DayException` replaces the periods
  *opening* on its date; a weekly period opening the evening before still runs into it.
* Daylight saving time: a local time that does not exist (inside the spring-forward gap,
  e.g. 02:30 on 2026-03-29 in Europe/Stockholm) is taken as the first valid moment after
  it, i.e. the instant the clocks jumped (03:00 CEST = 01:00 UTC); a period lying wholly
  inside the gap is empty that day. A local time that occurs twice (the fall-back hour,
  02:00-03:00 on 2026-10-25) is taken at its *first* occurrence (summer time, ``fold=0``),
  for opening and closing times alike. Every period is one continuous span of real time
  from its opening instant to its closing instant, so a repeated hour is counted once and
  a skipped hour is not invented: 01:00-04:00 is open 2 real hours on 2026-03-29
  (00:00-02:00 UTC) and 4 real hours on 2026-10-25 (23:00-03:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
_MINUTES_PER_WEEK = 7 * 24 * 60
_ONE_DAY = dt.timedelta(days=1)
_EPSILON = dt.timedelta(microseconds=1)

Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Period:
    """A weekly opening period: ``weekday`` 0 = Monday .. 6 = Sunday, local times."""

    weekday: int
    opens: dt.time
    closes: dt.time
    """Exclusive; ``closes <= opens`` means on the following day (00:00 = midnight)."""

    def __str__(self) -> str:
        day = WEEKDAYS[self.weekday] if 0 <= self.weekday <= 6 else f"weekday {self.weekday}"
        return f"{day} {_fmt(self.opens)}-{_fmt(self.closes, closing=True)}"


@dataclass(frozen=True)
class DayException:
    """Other hours on one date (a holiday, an evening event); both times None = closed."""

    day: dt.date
    opens: dt.time | None
    closes: dt.time | None


def _fmt(t: dt.time, *, closing: bool = False) -> str:
    return "24:00" if closing and t == dt.time(0, 0) else t.strftime("%H:%M")


def parse_hhmm(text: str) -> dt.time:
    """Parse a strict 24-hour ``"HH:MM"`` (two digits each). ``"24:00"`` gives 00:00,
    which as a closing time means midnight at the end of the day (see the module doc)."""
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"Not a 24-hour time HH:MM (00:00 to 23:59, or 24:00): {text!r}")
    if text == "24:00":
        return dt.time(0, 0)
    return dt.time(int(match.group(1)), int(match.group(2)))


def _parse_opens(text: str) -> dt.time:
    if text == "24:00":
        raise ValueError("24:00 is only allowed as a closing time; opening at midnight is 00:00")
    return parse_hhmm(text)


def parse_period(weekday: int, opens: str, closes: str) -> Period:
    """A :class:`Period` from stored strings (``OpeningHours`` columns), checked."""
    return check_periods([Period(weekday, _parse_opens(opens), parse_hhmm(closes))])[0]


def parse_exception(day: dt.date, opens: str | None, closes: str | None) -> DayException:
    """A :class:`DayException` from stored strings (``OpeningException`` columns), checked."""
    exception = DayException(
        day,
        None if opens is None else _parse_opens(opens),
        None if closes is None else parse_hhmm(closes),
    )
    return check_exceptions([exception])[0]


def _week_minutes(period: Period) -> tuple[int, int]:
    """The period as ``[start, end)`` minutes from Monday 00:00 (end may pass the week)."""
    start = period.opens.hour * 60 + period.opens.minute
    end = period.closes.hour * 60 + period.closes.minute
    if end <= start:
        end += 24 * 60
    return period.weekday * 24 * 60 + start, period.weekday * 24 * 60 + end


def check_periods(periods: Iterable[Period]) -> list[Period]:
    """Validate a team's weekly periods; return them sorted by weekday and opening time.

    Raises ValueError for a weekday outside 0..6, ``opens == closes``, or two periods that
    overlap (also across midnight, including Sunday night into Monday). Adjacent periods
    (09:00-12:00 and 12:00-17:00) do not overlap.
    """
    checked = sorted(periods, key=lambda p: (p.weekday, p.opens, p.closes))
    for period in checked:
        if isinstance(period.weekday, bool) or period.weekday not in range(7):
            raise ValueError(f"Weekday must be 0 (Monday) to 6 (Sunday), not {period.weekday!r}")
        if period.opens == period.closes:
            raise ValueError(f"Opening and closing time are the same: {period}")
    spans = [_week_minutes(p) for p in checked]
    for i, (a_start, a_end) in enumerate(spans):
        for j in range(i + 1, len(spans)):
            b_start, b_end = spans[j]
            for shift in (-_MINUTES_PER_WEEK, 0, _MINUTES_PER_WEEK):
                if a_start < b_end + shift and b_start + shift < a_end:
                    raise ValueError(f"Opening periods overlap: {checked[i]} and {checked[j]}")
    return checked


def check_exceptions(exceptions: Iterable[DayException]) -> list[DayException]:
    """Validate dated exceptions (both times or neither, ``opens != closes``, one per
    date); return them sorted by date. Raises ValueError."""
    checked = sorted(exceptions, key=lambda e: e.day)
    for exception in checked:
        if (exception.opens is None) != (exception.closes is None):
            raise ValueError(f"{exception.day}: give both opening and closing time, or neither")
        if exception.opens is not None and exception.opens == exception.closes:
            raise ValueError(f"{exception.day}: opening and closing time are the same")
    for earlier, later in itertools.pairwise(checked):
        if earlier.day == later.day:
            raise ValueError(f"More than one exception for {later.day}")
    return checked


def _zone(tz: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"Unknown time zone: {tz!r}") from error


def _local_to_utc(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock ``at`` on ``day``: first occurrence if it happens twice,
    the end of the gap (the instant of the jump) if it does not happen at all."""
    wall = dt.datetime.combine(day, at.replace(tzinfo=None))
    after = wall.replace(tzinfo=zone).astimezone(dt.UTC)  # fold=0: offset before any change
    if after.astimezone(zone).replace(tzinfo=None) == wall:
        return after
    # In a gap: fold=1 reads the wall time with the later offset, giving an instant before
    # the jump; ``after`` lies after it. Bisect for the first instant whose clock is >= wall.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    while after - before > _EPSILON:
        middle = before + (after - before) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after


def _spans_opening_on(
    day: dt.date,
    zone: zoneinfo.ZoneInfo,
    periods: list[Period],
    exceptions: dict[dt.date, DayException],
) -> list[Span]:
    """UTC ``[start, end)`` of every non-empty period opening on local date ``day``."""
    exception = exceptions.get(day)
    times: list[tuple[dt.time, dt.time]]
    if exception is None:
        times = [(p.opens, p.closes) for p in periods if p.weekday == day.weekday()]
    elif exception.opens is None or exception.closes is None:
        times = []
    else:
        times = [(exception.opens, exception.closes)]
    spans = []
    for opens, closes in times:
        start = _local_to_utc(day, opens, zone)
        end = _local_to_utc(day + _ONE_DAY if closes <= opens else day, closes, zone)
        if start < end:
            spans.append((start, end))
    return spans


def _prepare(
    now: dt.datetime, tz: str, periods: Iterable[Period], exceptions: Iterable[DayException]
) -> tuple[zoneinfo.ZoneInfo, dt.date, list[Period], dict[dt.date, DayException]]:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be an aware datetime")
    zone = _zone(tz)
    today = now.astimezone(zone).date()
    return zone, today, list(periods), {e.day: e for e in exceptions}


def is_within_hours(
    now: dt.datetime,
    tz: str,
    periods: Iterable[Period],
    exceptions: Iterable[DayException] = (),
) -> bool:
    """Whether aware ``now`` (any zone) falls inside the team's hours in zone ``tz``."""
    zone, today, period_list, by_day = _prepare(now, tz, periods, exceptions)
    # A period lasts less than a day of wall-clock time, so only periods opening today or
    # on the previous day can contain now (one more day of margin costs nothing).
    for offset in (-2, -1, 0):
        for start, end in _spans_opening_on(today + offset * _ONE_DAY, zone, period_list, by_day):
            if start <= now < end:
                return True
    return False


def next_opening(
    now: dt.datetime,
    tz: str,
    periods: Iterable[Period],
    exceptions: Iterable[DayException] = (),
    horizon_days: int = 14,
) -> dt.datetime | None:
    """When the hours next begin, as an aware UTC datetime.

    Returns ``now`` (in UTC) when it is within hours already; otherwise the start of the
    first period after now, looking at periods opening on the local dates from today up to
    and including today + ``horizon_days``; None if there is none.
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    period_list, exception_list = list(periods), list(exceptions)
    if is_within_hours(now, tz, period_list, exception_list):
        return now.astimezone(dt.UTC)
    zone, today, period_list, by_day = _prepare(now, tz, period_list, exception_list)
    for offset in range(-1, horizon_days + 1):  # -1: a jump at midnight can delay a start
        spans = _spans_opening_on(today + offset * _ONE_DAY, zone, period_list, by_day)
        starts = [start for start, _ in spans if start > now]
        if starts:
            return min(starts)
    return None


def is_open(
    now: dt.datetime,
    tz: str,
    periods: Iterable[Period],
    exceptions: Iterable[DayException],
    workers_on_duty: int,
) -> bool:
    """Open to young people: within hours *and* at least one worker on duty."""
    return workers_on_duty >= 1 and is_within_hours(now, tz, periods, exceptions)
