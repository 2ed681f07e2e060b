"""The longest wait between two runs of a cron schedule, for the BatchScoreMissed alert.

The chart gives the scoring job its CronJob's schedule (env BATCH_SCHEDULE); the job pushes the
longest interval between consecutive runs as `batch_score_schedule_interval_seconds`, and the
alert fires when no run succeeded for twice that (at most the interval plus two hours). The
schedule is Kubernetes' five-field cron (minute hour day-of-month month day-of-week, with `*`,
`?`, lists, ranges, steps and month or day names) or a macro (@hourly, @daily, ...). Intervals are
counted in UTC: a daylight-saving shift in the CronJob's timeZone moves a run by an hour at most,
which the two hours' margin absorbs.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names from the lowest value on)
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
# Eight years from a leap year: every weekday falls on every date, and 29 February comes twice.
START, YEARS = date(2024, 1, 1), 8


class ScheduleError(ValueError):
    """The schedule is not a cron expression Kubernetes accepts; the message says why."""


def _number(text: str, field: str, low: int, names: tuple[str, ...]) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        raise ScheduleError(f"{text!r} is not a number or a name in the {field} field")
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"{part!r}: the step must be a whole number of at least 1")
            step = int(step_text)
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first = _number(first_text, field, low, names)
            last = _number(last_text, field, low, names)
        else:
            first = _number(span, field, low, names)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ScheduleError(f"{part!r} is outside {low}-{high} in the {field} field")
        values.update(range(first, last + 1, step))
    return values


def interval_seconds(schedule: str) -> int:
    """The longest time between two consecutive runs of `schedule`, in seconds."""
    text = MACROS.get(schedule.strip().lower(), schedule.strip())
    parts = text.split()
    if text.startswith(("CRON_TZ=", "TZ=")):
        parts = parts[1:]  # the time zone does not change the intervals (see above)
    if len(parts) != len(FIELDS):
        raise ScheduleError(
            f"{schedule!r} must have five fields (minute hour day-of-month month day-of-week)"
            " or be a macro such as @daily"
        )
    minutes, hours, days, months, weekdays = (
        _field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)
    )
    weekdays = {day % 7 for day in weekdays}  # 7 is Sunday too
    # Cron's rule: when both day fields are restricted, a day matching either runs.
    either = not parts[2].startswith(("*", "?")) and not parts[4].startswith(("*", "?"))
    times = sorted(h * 3600 + m * 60 for h in hours for m in minutes)
    matching = []
    for offset in range((date(START.year + YEARS, 1, 1) - START).days):
        day = START + timedelta(days=offset)
        by_date, by_weekday = day.day in days, day.isoweekday() % 7 in weekdays
        if day.month in months and ((by_date or by_weekday) if either else by_date and by_weekday):
            matching.append(offset)
    if not matching:
        raise ScheduleError(f"{schedule!r} never runs")
    within = max((b - a for a, b in pairwise(times)), default=0)
    across = [(b - a) * 86400 - times[-1] + times[0] for a, b in pairwise(matching)]
    if len(matching) == 1:  # once in eight years: the span itself
        across = [YEARS * 365 * 86400]
    return max([within, *across])
