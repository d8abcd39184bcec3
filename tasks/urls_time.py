"""Time tracking URLs (namespace "time"), included by crm/urls.py before the tasks/ pages.

Every change is a POST; GET shows pages (forms and confirmations).
"""

from django.urls import path

from . import views_time

app_name = "time"

urlpatterns = [
    path("tasks/<int:pk>/timer/start/", views_time.timer_start_view, name="timer_start"),
    path("tasks/<int:pk>/time/new/", views_time.entry_create_view, name="entry_create"),
    path("time/", views_time.time_index_view, name="index"),
    path("time/stop/", views_time.timer_stop_view, name="timer_stop"),
    path("time/entries/<int:entry_pk>/edit/", views_time.entry_edit_view, name="entry_edit"),
    path("time/entries/<int:entry_pk>/delete/", views_time.entry_delete_view, name="entry_delete"),
]
