"""Team pages under /teams/<id>/ (the project includes them with the "teams" namespace)."""

from django.urls import path

from . import views_teams

app_name = "teams"

urlpatterns = [
    path("<int:pk>/queue/", views_teams.team_queue_view, name="queue"),
    path("<int:pk>/workload/", views_teams.team_workload_view, name="workload"),
    path("<int:pk>/settings/", views_teams.team_settings_view, name="settings"),
]
