"""Automation rule pages under /automation/ (namespace "automation")."""

from django.urls import path

from . import views_automation

app_name = "automation"

urlpatterns = [
    path("", views_automation.rule_list_view, name="list"),
    path("new/", views_automation.rule_create_view, name="create"),
    path("runs/", views_automation.run_list_view, name="runs"),
    path("<int:pk>/edit/", views_automation.rule_edit_view, name="edit"),
    path("<int:pk>/active/", views_automation.rule_toggle_view, name="toggle"),
]
