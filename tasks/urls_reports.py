"""/reports/: the reports page and the stylesheet of its charts (included with the "reports" namespace)."""

from django.urls import path

from . import views_reports

app_name = "reports"

urlpatterns = [
    path("", views_reports.report_index, name="index"),
    path("charts.css", views_reports.chart_css, name="chart_css"),
]
