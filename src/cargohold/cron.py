"""Five-field cron expressions (`minute hour day-of-month month day-of-week`), parsed and matched
in pure Python (no dependency): numbers, `*`, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`,
month and weekday names (`JAN`, `MON-FRI`), `?` as `*`, Sunday as 0 or 7. When both day fields
are restricted, a day matches either (as in Vixie cron). `L`, `W` and `#` are refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Cron", "CronError"]

_MONTHS = {
    m: i
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_BOUNDS: list[tuple[int, int, dict[str, int]]] = [
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 7, _DAYS),
]
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


class CronError(ValueError):
    pass


def _value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.upper()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise CronError(f"{field}: {text!r} is not in {low}-{high}")
    return value


def _field(text: str, index: int) -> frozenset[int]:
    low, high, names = _BOUNDS[index]
    field = _NAMES[index]
    values: set[int] = set()
    for item in text.split(","):
        spec, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise CronError(f"{field}: step {step_text!r} is not a positive number")
        if spec in ("*", "?"):
            start, end = low, high
        elif "-" in spec:
            a, _, b = spec.partition("-")
            start, end = _value(a, low, high, names, field), _value(b, low, high, names, field)
            if start > end:
                raise CronError(f"{field}: range {spec!r} runs backwards")
        else:
            start = _value(spec, low, high, names, field)
            end = high if step else start
        values.update(range(start, end + 1, step or 1))
    if index == 4 and 7 in values:  # Sunday is 0 or 7
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = expression.split()
        if len(fields) != 5:
            raise CronError("a cron expression has five fields: minute hour day-of-month month day-of-week")
        minutes, hours, days, months, weekdays = (_field(text, i) for i, text in enumerate(fields))
        return cls(
            minutes, hours, days, months, weekdays, any_day=fields[2] in ("*", "?"), any_weekday=fields[4] in ("*", "?")
        )

    def matches(self, moment: datetime) -> bool:
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and self._day_ok(moment)
        )

    def last_at_or_before(self, moment: datetime, horizon: timedelta = timedelta(days=366)) -> datetime | None:
        """The latest tick at or before `moment` (to the minute), looking back at most `horizon`."""
        tick = moment.replace(second=0, microsecond=0)
        stop = tick - horizon
        while tick >= stop:
            if tick.month in self.months and self._day_ok(tick):
                if tick.hour in self.hours:
                    if tick.minute in self.minutes:
                        return tick
                    tick -= timedelta(minutes=1)
                else:
                    tick = tick.replace(minute=0) - timedelta(minutes=1)
            else:
                tick = tick.replace(hour=0, minute=0) - timedelta(minutes=1)
        return None

    def _day_ok(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday
