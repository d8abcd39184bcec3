"""The reports page (/reports/): filters, figures from tasks.reports, and charts drawn by pygal.

Every signed-in user may open it; the figures only count the tasks that user may
see (tasks.access), so a team manager sees their teams and an outsider only
their own tasks. Bad filter input answers 400 with the reasons under the fields.

Charts are pygal SVG drawn on the server and put inline in the page, each with a
title, an accessible name and its data table beside it. pygal's SVG carries a
<script> (its tooltip configuration) and a <style>: both are taken out, so the
page has no inline script or style. The chart styles are served as an ordinary
stylesheet by `chart_css` (pygal's own CSS for our chart style, scoped to
svg.pygal-chart), and the tooltip layer, useless without the script, is dropped;
values are printed on the bars instead.
"""

import functools
import re
import sys
from datetime import date
from xml.etree import ElementTree

import pygal
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from pygal.style import Style

# pygal appends an old-style import hook to sys.meta_path (for its optional map plugins, unused
# here) that makes Python raise an ImportWarning on every later import it is asked about.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

from crm.choices import TaskType
from crm.models import Team, TeamMembership

from . import access
from .dates import local_today
from .reports import ReportFilters, build_report, default_period, user_label

User = get_user_model()

MAX_PERIOD_DAYS = 731
CHART_ROWS = 12  # the longest bar chart; its table lists every row

# ---- the filter form -------------------------------------------------------------------------


class _UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        label = user_label(obj)
        return label if obj.is_active else f"{label} (inactive)"


class ReportFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="Any team")
    user = _UserChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone", label="Assignee")
    task_type = forms.ChoiceField(choices=[("", "Any type"), *TaskType.choices], required=False, label="Type")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    threshold = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="Stuck after (days)",
        widget=forms.NumberInput(attrs={"min": 1, "max": 365}),
        error_messages={"invalid": "Enter a whole number of days, e.g. 7."},
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["user"].queryset = User.objects.order_by("-is_active", "first_name", "last_name", "username")
        default_from, default_to = default_period(today)
        self.fields["date_from"].widget.attrs["placeholder"] = default_from.isoformat()
        self.fields["date_to"].widget.attrs["placeholder"] = default_to.isoformat()

    def _clean_day(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and not (date(1900, 1, 8) <= value <= date(2999, 12, 24)):
            raise forms.ValidationError("Choose a date between 1900 and 2999.")
        return value

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        default_from, default_to = default_period(self.today)
        date_to = data.get("date_to") or default_to
        date_from = data.get("date_from") or (date_to - (default_to - default_from))
        if date_from > date_to:
            self.add_error("date_to", "The end of the period cannot be before its start.")
        elif (date_to - date_from).days >= MAX_PERIOD_DAYS:
            self.add_error("date_from", "Choose a period of at most two years.")
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def filters(self):
        d = self.cleaned_data
        return ReportFilters(
            date_from=d["date_from"], date_to=d["date_to"], team=d.get("team"), user=d.get("user"),
            task_type=d.get("task_type") or "", threshold_days=d.get("threshold") or 7,
        )


# ---- charts ----------------------------------------------------------------------------------

CHART_STYLE = Style(
    background="transparent", plot_background="transparent",
    foreground="#212529", foreground_strong="#212529", foreground_subtle="#6c757d",
    opacity="1", opacity_hover="1", transition="0s", value_colors=("#212529",) * 8,
    colors=("#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d", "#ffc107"),
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    title_font_size=17, label_font_size=13, major_label_font_size=13, legend_font_size=14,
    value_font_size=13, value_label_font_size=13, tooltip_font_size=13, no_data_font_size=16,
)

_BASE_CONFIG = dict(
    style=CHART_STYLE, js=[], disable_xml_declaration=True, print_values=True, show_y_guides=True,
    legend_at_bottom=True, margin=12, spacing=10, truncate_label=28, truncate_legend=30,
)


def _legend(series):
    """One legend row under the chart (pygal sizes its bottom margin by rows = series // columns)."""
    if len(series) < 2:
        return {"show_legend": False}
    return {"legend_at_bottom_columns": len(series)}


def _strip(tree):
    """Drop pygal's <script>, <style>, tooltip layer (needs the script) and comments; name the picture."""
    for parent in list(tree.iter()):
        for child in list(parent):
            tag = child.tag if isinstance(child.tag, str) else ""
            local = tag.rsplit("}", 1)[-1]
            if child.tag is ElementTree.Comment or local in ("script", "style") or (
                "tooltip-overlay" in (child.get("class") or "")
            ):
                parent.remove(child)
    return tree


_COLOR_CLASS = re.compile(r"\bcolor-(\d+)\b")


def _recolor(tree, palette):
    """Series i drawn in palette colour palette[i] (pygal numbers colours by series order)."""
    for node in tree.iter():
        cls = node.get("class")
        if cls and "color-" in cls:
            node.set("class", _COLOR_CLASS.sub(lambda m: f"color-{palette[int(m.group(1))]}", cls))


def render_chart(chart, *, title, palette=None):
    """The chart as inline SVG markup (safe: pygal escapes every label) with an accessible name.

    `palette` picks CHART_STYLE colours per series, e.g. (0, 2): blue, then green.
    """
    tree = _strip(chart.render_tree())
    if palette:
        _recolor(tree, palette)
    tree.set("role", "img")
    tree.set("aria-label", title)
    tree.set("class", "pygal-chart report-svg")
    ElementTree.register_namespace("", "http://www.w3.org/2000/svg")
    return mark_safe(ElementTree.tostring(tree, encoding="unicode"))


def _height(rows, per_row=34, base=110):
    return base + per_row * max(rows, 1)


def bar_chart(*, title, labels, series, horizontal=True, stacked=False, value_suffix="", max_value=None,
              palette=None, width=720):
    """A (horizontal, optionally stacked) bar chart. `series` is [(name, [values])].

    `width` is the drawing's own width: the page scales it to its column, so a chart meant for a
    narrow column is drawn narrower to keep its labels readable."""
    kind = {(True, True): pygal.HorizontalStackedBar, (True, False): pygal.HorizontalBar,
            (False, True): pygal.StackedBar, (False, False): pygal.Bar}[(horizontal, stacked)]
    height = _height(len(labels) * (1 if stacked or len(series) == 1 else len(series) * 0.7)) if horizontal else 340
    config = dict(_BASE_CONFIG, title=title, width=width, height=int(height), **_legend(series))
    if horizontal:
        # pygal draws the first label at the bottom: reverse, so the chart reads top-down like its table.
        labels = list(reversed(labels))
        series = [(name, list(reversed(values))) for name, values in series]
    if value_suffix:
        config["formatter"] = lambda v: "" if v in (None, 0) else f"{v:g}{value_suffix}"
    else:
        config["formatter"] = lambda v: "" if v in (None, 0) else f"{v:g}"
    if max_value is not None:
        config["range"] = (0, max_value)
    chart = kind(**config)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return render_chart(chart, title=title, palette=palette)


def line_chart(*, title, labels, series, value_suffix="", palette=None):
    # Values are in the table beside it: printed on the dots they would overlap.
    chart = pygal.Line(**dict(
        _BASE_CONFIG, title=title, width=720, height=340, x_label_rotation=0, show_minor_x_labels=True,
        allow_interruptions=True, dots_size=4, print_values=False, include_x_axis=True,
        formatter=lambda v: "" if v is None else f"{v:g}{value_suffix}", **_legend(series),
    ))
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return render_chart(chart, title=title, palette=palette)


@functools.cache
def chart_stylesheet():
    """pygal's CSS for CHART_STYLE, scoped to svg.pygal-chart instead of one chart's id."""
    chart = pygal.Bar(**dict(_BASE_CONFIG, title="x"))
    for index in range(len(CHART_STYLE.colors)):
        chart.add(str(index), [1])
    tree = chart.render_tree()
    css = "\n".join(node.text or "" for node in tree.iter() if str(node.tag).rsplit("}", 1)[-1] == "style")
    css = css.replace(f"#chart-{chart.uuid}", "svg.pygal-chart")
    # Values are printed on the bars; no tooltip layer is drawn.
    header = "/* The reports page: pygal's chart styles (generated from its CSS) and the page's layout. */\n"
    return header + css + PAGE_CSS


PAGE_CSS = """
svg.pygal-chart .text-overlay text.value{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.report-table thead th{white-space:normal;vertical-align:bottom}
svg.pygal-chart .series path.line{stroke-width:3px}
.report-chart svg.pygal-chart{display:block;width:100%;height:auto;max-height:34rem}
.report-chart{margin-bottom:1rem}
.report-chart-narrow{max-width:36rem}
.report-stat{gap:.1rem}
.report-stat-label{font-size:.8rem;color:#6c757d}
.report-stat-value{font-size:1.6rem;font-weight:600;line-height:1.2}
.report-table caption{font-weight:600;color:#212529;padding-top:0}
.report-table td,.report-table th{white-space:nowrap}
.report-table tbody th{max-width:16rem;overflow:hidden;text-overflow:ellipsis}
"""


@login_not_required
@require_http_methods(["GET", "HEAD"])
def chart_css(request):
    response = HttpResponse(chart_stylesheet(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _short(day):
    return f"{day.day} {day:%b}"


def build_charts(report):
    charts = {}
    oo = report["open_overdue"]
    rows = [r for r in oo["by_assignee"] if r["open"]][:CHART_ROWS]
    if rows:
        charts["open_by_assignee"] = bar_chart(
            title="Open tasks by assignee", labels=[r["label"] for r in rows], stacked=True,
            series=[("Not overdue", [r["open"] - r["overdue"] for r in rows]),
                    ("Overdue", [r["overdue"] for r in rows])],
        )
    rows = [r for r in oo["by_type"] if r["open"]]
    if rows:
        charts["open_by_type"] = bar_chart(
            title="Open tasks by type", labels=[r["label"] for r in rows], stacked=True,
            series=[("Not overdue", [r["open"] - r["overdue"] for r in rows]),
                    ("Overdue", [r["overdue"] for r in rows])],
        )
    weeks = report["speed"]["weeks"]
    if any(w["completed"] for w in weeks):
        labels = [_short(w["week"]) for w in weeks]
        charts["speed_trend"] = line_chart(
            title="Hours from creation to completion, per week", labels=labels, value_suffix=" h",
            series=[("Median", [w["median_hours"] for w in weeks]),
                    ("90th percentile", [w["p90_hours"] for w in weeks])], palette=(0, 3),
        )
        if any(w["with_deadline"] for w in weeks):
            charts["on_time_trend"] = bar_chart(
                title="Completed on time, per week (%)", labels=labels, horizontal=False, value_suffix="%",
                max_value=100, series=[("On time", [w["on_time_share"] for w in weeks])], palette=(2,),
            )
    rows = [r for r in report["workload"]["rows"]][:CHART_ROWS]
    if any(r["open"] for r in rows):
        charts["workload"] = bar_chart(
            title="Open tasks per member", labels=[r["label"] for r in rows], stacked=True,
            series=[("Not overdue", [r["open"] - r["overdue"] for r in rows]),
                    ("Overdue", [r["overdue"] for r in rows])],
        )
    rows = [r for r in report["workload"]["rows"] if r["hours_week"]][:CHART_ROWS]
    if rows:
        charts["hours_week"] = bar_chart(
            title="Expected hours due this week", labels=[r["label"] for r in rows], value_suffix=" h",
            series=[("Hours", [r["hours_week"] for r in rows])],
        )
    rows = [r for r in report["bottlenecks"]["by_status"] if r["median_days"] is not None]
    if rows:
        charts["status_wait"] = bar_chart(
            title="Days in the current status (median)", labels=[r["label"] for r in rows], value_suffix=" d",
            series=[("Median days", [r["median_days"] for r in rows])],
        )
    # Expected against tracked hours of the tasks completed in the period (tasks with an estimate);
    # drawn narrower: they share the row with a wide table.
    for key, title, rows in (
        ("time_by_assignee", "Expected and tracked hours by assignee", report["hours"]["by_assignee"]),
        ("time_by_type", "Expected and tracked hours by type", report["hours"]["by_type"]),
    ):
        rows = [r for r in rows if r["completed_hours"] or r["tracked"]][:CHART_ROWS]
        if rows:
            charts[key] = bar_chart(
                title=title, labels=[r["label"] for r in rows], value_suffix=" h",
                series=[("Expected", [r["completed_hours"] for r in rows]),
                        ("Tracked", [r["tracked"] for r in rows])], palette=(0, 3), width=540,
            )
    return charts


# ---- the page --------------------------------------------------------------------------------


def _members(user, filters):
    """Who the workload table lists even with nothing assigned: the chosen person, else the chosen
    team's members, else the members of the reader's own teams."""
    if filters.user is not None:
        return [filters.user]
    team_ids = [filters.team.pk] if filters.team is not None else list(access.member_team_ids(user))
    if not team_ids:
        return []
    return [m.user for m in TeamMembership.objects.filter(team_id__in=team_ids).select_related("user")]


@require_http_methods(["GET", "HEAD"])
def report_index(request):
    today = local_today()
    form = ReportFilterForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        return render(request, "reports/index.html", {"form": form, "report": None}, status=400)
    if not form.is_bound:
        # Show the default period and threshold in the filter bar, as if they had been asked for.
        default_from, default_to = default_period(today)
        form = ReportFilterForm({"date_from": default_from.isoformat(), "date_to": default_to.isoformat(),
                                 "threshold": "7"}, today=today)
        form.is_valid()
    filters = form.filters()
    report = build_report(user=request.user, filters=filters, members=_members(request.user, filters))
    return render(request, "reports/index.html", {
        "form": form, "filters": filters, "report": report, "charts": build_charts(report),
        "period_days": (filters.date_to - filters.date_from).days + 1,
        "week_end": report["workload"]["week_end"],
    })
