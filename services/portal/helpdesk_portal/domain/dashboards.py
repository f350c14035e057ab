"""The dashboards' view models: query's reports (SLA compliance by week, backlog by age, norm-hours
against budget) as charts and as the tables that hold the same numbers, in the user's words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date

from helpdesk_portal.domain import words
from helpdesk_portal.domain.charts import Chart, Series, stacked_bars
from helpdesk_portal.domain.words import Gettext, N_

WEEK_CHOICES = (4, 8, 12, 26, 52)
DEFAULT_WEEKS = 12
BY = {"": N_("All together"), "customer_id": N_("Customer"), "category": N_("Category"),
      "priority": N_("Priority")}
BANDS = {"<1d": N_("under 1 day"), "1-3d": N_("1–3 days"), "3-7d": N_("3–7 days"), "7-30d": N_("7–30 days"),
         ">30d": N_("over 30 days")}


@dataclass(frozen=True)
class Table:
    """The numbers of a chart: a caption, column headings and rows of cells (numbers as shown)."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def mondays(until: dt.date, count: int) -> list[dt.date]:
    """The Mondays of the ``count`` ISO weeks ending with the week of ``until``, oldest first."""
    last = until - dt.timedelta(days=until.weekday())
    return [last - dt.timedelta(weeks=n) for n in range(count - 1, -1, -1)]


def iso_week(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_label(monday: dt.date, locale: str) -> str:
    """``W06 · 2 Feb`` (``W06 · 2 февр``): the ISO week and its Monday."""
    return f"W{monday.isocalendar().week:02d} · " + format_date(monday, "d MMM", locale=locale).replace(".", "")


def value_name(by: str, value: Any, names: Mapping[str, str], _: Gettext) -> str:
    """A group's value in words: a customer's name, a category or priority as the pages say it."""
    if value is None or value == "":
        return _("Not set")
    table = {"category": words.CATEGORIES, "priority": words.PRIORITIES}.get(by)
    if table is not None:
        return _(table.get(value, value))
    return names.get(value, value) if by == "customer_id" else str(value)


def percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


def sla(report: Mapping[str, Any], weeks: list[dt.date], by: str, names: Mapping[str, str], locale: str,
        _: Gettext) -> tuple[list[Chart], Table]:
    """Met and breached targets per week (one chart per customer, category or priority when grouped by
    one), every week of the period shown, an empty one as zeros; the table holds each bar's numbers."""
    groups: dict[Any, dict[str, Mapping[str, Any]]] = {}
    for row in report.get("rows", []):
        groups.setdefault(row.get(by) if by else "", {})[str(row.get("week"))] = row
    series = (Series("met", _("Met"), 0), Series("breached", _("Breached"), 1))
    charts, cells = [], []
    named = sorted(((value_name(by, value, names, _) if by else "", by_week) for value, by_week in groups.items()),
                   key=lambda g: g[0])
    for number, (name, by_week) in enumerate(named or [("", {})]):
        bars = []
        for monday in weeks:
            row = by_week.get(iso_week(monday), {})
            met, breached, still = int(row.get("met", 0)), int(row.get("breached", 0)), int(row.get("open", 0))
            bars.append((week_label(monday, locale), [met, breached], percent(row.get("compliance"))))
            cells.append(((name,) if by else ()) + (iso_week(monday), str(met), str(breached), str(still),
                                                    percent(row.get("compliance"))))
        title = _("SLA compliance by week") + (f": {name}" if name else "")
        desc = _("Targets met and breached in each week their due time fell in; the percentage is the share met.")
        charts.append(stacked_bars(f"sla{number}", title, desc, series, bars))
    columns = ((_(BY[by]),) if by else ()) + (_("Week"), _("Met"), _("Breached"), _("Open"), _("Compliance"))
    return charts, Table(_("SLA compliance by week"), columns, tuple(cells))


def backlog(report: Mapping[str, Any], _: Gettext, staff: bool = False) -> tuple[Chart, Table]:
    """Open tickets by status (rows) and age band (segments), zeros included as the report gives them;
    statuses in the viewer's words (``staff``: "Awaiting the customer", a customer: "Awaiting your reply")."""
    bands = [b["age_band"] for b in report.get("bands", [])] or list(BANDS)
    counts: dict[str, dict[str, int]] = {}
    for item in report.get("items", []):
        counts.setdefault(item["status"], {})[item["age_band"]] = int(item.get("count", 0))
    series = [Series(band, _(BANDS.get(band, band)), style) for style, band in enumerate(bands)]
    rows, cells = [], []
    for status, by_band in counts.items():
        values = [by_band.get(band, 0) for band in bands]
        label = _(words.statuses(staff).get(status, status))
        rows.append((label, values, str(sum(values))))
        cells.append((label, *map(str, values), str(sum(values))))
    chart = stacked_bars("backlog", _("Open tickets by status and age"),
                         _("Each bar is the open tickets of one status, divided by how long ago they were registered."),
                         series, rows)
    columns = (_("Status"), *(s.label for s in series), _("Total"))
    return chart, Table(_("Open tickets by status and age"), columns, tuple(cells))


def hours(report: Mapping[str, Any], names: Mapping[str, str], _: Gettext) -> tuple[Chart, Table]:
    """Each customer's norm-hours of the month: what counts against the budget (planned or spent, as the
    policy measures), what remains of it and what went over; the budget is the line across the bar."""
    series = (Series("counted", _("Counted"), 5), Series("remaining", _("Remaining"), 6),
              Series("over", _("Over budget"), 1))
    rows, marks, cells = [], [], []
    for item in report.get("items", []):
        name = names.get(item["customer_id"], item["customer_id"])
        budget = item.get("budget_minutes")
        counted = int(item.get("used_minutes" if item.get("measure") == "spent" else "planned_minutes") or 0)
        within = counted if budget is None else min(counted, int(budget))
        left = 0 if budget is None else max(int(budget) - counted, 0)
        over = 0 if budget is None else max(counted - int(budget), 0)
        shown = [round(m / 60, 2) for m in (within, left, over)]
        note = _hours(counted) + (" / " + _hours(int(budget)) if budget is not None else "")
        rows.append((name, shown, note))
        marks.append(None if budget is None else round(int(budget) / 60, 2))
        cells.append((name, _hours(budget), _hours(item.get("planned_minutes")), _hours(item.get("used_minutes")),
                      _hours(item.get("remaining_minutes"))))
    chart = stacked_bars("hours", _("Norm-hours against the budget") + f" ({report.get('month', '')})",
                         _("Each bar is one customer's hours counted against its monthly budget; "
                           "the line marks the budget."), series, rows, marks)
    columns = (_("Customer"), _("Budget, h"), _("Planned, h"), _("Used, h"), _("Remaining, h"))
    return chart, Table(_("Norm-hours against the budget"), columns, tuple(cells))


def _hours(minutes: Any) -> str:
    """Minutes as hours with up to two decimals (``7.5``); nothing for no value."""
    if minutes is None:
        return "—"
    value = round(int(minutes) / 60, 2)
    return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
