"""The dashboards' charts as shapes (domain/charts.py) and their view models (domain/dashboards.py):
pure, no server. Bars are proportional to their values, an empty period is said so, labels are words."""

from __future__ import annotations

import datetime as dt

from jinja2 import Environment, FileSystemLoader

from helpdesk_portal import i18n
from helpdesk_portal.bootstrap import HERE
from helpdesk_portal.domain import charts, dashboards
from helpdesk_portal.domain.charts import Series, stacked_bars

RU, EN = i18n.translations("ru").gettext, i18n.translations("en").gettext
TWO = (Series("met", "Met", 0), Series("breached", "Breached", 1))


def test_dashboards_chart_bars_are_proportional_to_their_values_on_one_scale() -> None:
    chart = stacked_bars("c", "Title", "Desc", TWO, [("W01", [6, 2], "75%"), ("W02", [2, 0], "100%"),
                                                     ("W03", [0, 4], "0%")])
    first, second, third = chart.bars
    assert [s.width for s in first.segments] == [charts.PLOT_WIDTH * 6 / 8, charts.PLOT_WIDTH * 2 / 8]
    assert first.segments[1].x == first.segments[0].x + first.segments[0].width  # stacked, met first
    assert second.segments[0].width == first.segments[0].width / 3
    assert [(s.series, s.value) for s in third.segments] == [("breached", 4)]  # a zero draws no segment
    assert [b.note for b in chart.bars] == ["75%", "100%", "0%"] and not chart.empty
    assert len({b.y for b in chart.bars}) == 3 and chart.height >= third.y + charts.ROW_HEIGHT


def test_dashboards_chart_of_zeros_or_of_nothing_is_empty_and_never_divides_by_zero() -> None:
    zeros = stacked_bars("z", "T", "D", TWO, [("W01", [0, 0], "—"), ("W02", [0, 0], "—")])
    assert zeros.empty and all(not b.segments for b in zeros.bars)
    nothing = stacked_bars("n", "T", "D", TWO, [])
    assert nothing.empty and nothing.bars == () and nothing.height > 0


def test_dashboards_chart_marks_a_budget_and_shortens_long_labels_keeping_them_whole_in_the_title() -> None:
    long = "Общество с ограниченной ответственностью «Клиника»"
    chart = stacked_bars("h", "T", "D", (Series("counted", "Counted", 2),), [(long, [5], "5 / 10"), ("B", [12], "12 / 10")],
                         marks=[10, 10])
    assert chart.bars[0].mark == chart.bars[1].mark == charts.LABEL_WIDTH + charts.PLOT_WIDTH * 10 / 12
    assert chart.bars[0].label == long and chart.bars[0].shown.endswith("…")
    assert len(chart.bars[0].shown) == charts.LABEL_CHARS


def test_dashboards_chart_svg_is_an_accessible_image_without_inline_style_and_each_series_has_a_pattern() -> None:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    macro = env.get_template("_chart.html").make_module({"_": EN}).chart
    chart = stacked_bars("sla0", "SLA <compliance>", "Desc", TWO, [("W01", [3, 1], "75%")])
    svg = str(macro(chart))
    assert 'role="img"' in svg and 'aria-label="SLA &lt;compliance&gt;"' in svg and "<desc id=\"sla0-desc\">" in svg
    assert "style=" not in svg
    assert svg.count("<pattern ") == len(charts.STYLES) and 'fill="url(#sla0-p1)"' in svg and "<path" in svg
    assert 'data-series="met" data-value="3"' in svg and "</svg> Met</li>" in svg  # the legend names each series
    assert "Met" in svg and "Breached" in svg


def test_dashboards_sla_weeks_of_the_period_in_words_zeros_for_quiet_weeks_and_one_chart_per_group() -> None:
    weeks = dashboards.mondays(dt.date(2026, 11, 30), 3)
    assert weeks == [dt.date(2026, 11, 16), dt.date(2026, 11, 23), dt.date(2026, 11, 30)]
    report = {"rows": [{"week": "2026-W48", "priority": "high", "met": 3, "breached": 1, "open": 2, "compliance": 0.75},
                       {"week": "2026-W49", "priority": "normal", "met": 0, "breached": 2, "open": 0, "compliance": 0.0}]}
    found, table = dashboards.sla(report, weeks, "priority", {}, "ru", RU)
    assert [c.title for c in found] == ["Соблюдение SLA по неделям: Высокий", "Соблюдение SLA по неделям: Обычный"]
    assert [b.note for b in found[0].bars] == ["—", "75%", "—"] and found[0].bars[1].label.startswith("W48 · 23 ноя")
    assert ("Высокий", "2026-W48", "3", "1", "2", "75%") in table.rows and len(table.rows) == 6
    assert table.columns[:2] == ("Приоритет", "Неделя")
    quiet, _ = dashboards.sla({"rows": []}, weeks, "", {}, "en", EN)
    assert len(quiet) == 1 and quiet[0].empty


def test_dashboards_hours_counted_remaining_and_over_against_each_customers_budget() -> None:
    report = {"month": "2026-11", "items": [
        {"customer_id": "c1", "measure": "planned", "budget_minutes": 600, "planned_minutes": 120, "used_minutes": 45,
         "remaining_minutes": 480},
        {"customer_id": "c2", "measure": "spent", "budget_minutes": 60, "planned_minutes": 0, "used_minutes": 90,
         "remaining_minutes": -30}]}
    chart, table = dashboards.hours(report, {"c1": "Acme"}, EN)
    acme, other = chart.bars
    assert acme.label == "Acme" and [(s.series, s.value) for s in acme.segments] == [("counted", 2), ("remaining", 8)]
    assert [(s.series, s.value) for s in other.segments] == [("counted", 1), ("over", 0.5)] and other.note == "1.5 / 1"
    assert table.rows[0] == ("Acme", "10", "2", "0.75", "8") and table.rows[1][-1] == "-0.5"


def test_dashboards_backlog_names_awaiting_customer_in_the_viewers_words() -> None:
    report = {"bands": [{"age_band": "<1d"}], "items": [{"status": "awaiting_customer", "age_band": "<1d", "count": 2}]}
    _, staff = dashboards.backlog(report, EN, staff=True)
    _, customer = dashboards.backlog(report, EN)
    assert staff.rows == (("Awaiting the customer", "2", "2"),)
    assert customer.rows == (("Awaiting your reply", "2", "2"),)
