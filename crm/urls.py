from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from tasks import views_csv, views_day, views_feeds

from . import views, views_export, views_notifications
from .entities import SPECS

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tasks/calendar/", views_day.task_calendar, name="calendar"),
    # Time tracking (timer, time entries, /time/) before the "tasks/" include; billables and invoices.
    path("", include("tasks.urls_time")),
    path("", include("billables.urls")),
    # Reports, calendar feeds, CSV export/import (tasks/views_reports.py, views_feeds.py, views_csv.py):
    # before the "tasks/" include so these /tasks/... paths win.
    path("reports/", include("tasks.urls_reports")),
    path("tasks/export.csv", views_csv.tasks_export, name="tasks_export"),
    path("tasks/import/", views_csv.tasks_import_upload, name="tasks_import"),
    path("tasks/import/<int:pk>/", views_csv.tasks_import_preview, name="task_import_preview"),
    path("tasks/import/<int:pk>/confirm/", views_csv.tasks_import_confirm, name="task_import_confirm"),
    path("tasks/import/<int:pk>/discard/", views_csv.tasks_import_discard, name="task_import_discard"),
    path("tasks/<int:pk>/ics/", views_feeds.task_ics, name="task_ics"),
    re_path(r"^calendar/feed/(?P<token>[A-Za-z0-9_-]{1,100})\.ics$", views_feeds.calendar_feed, name="calendar_feed"),
    path("settings/calendar/", views_feeds.calendar_settings, name="calendar_feed_settings"),
    *[path(f"{spec.plural_key}/export.csv", views_export.entity_export, {"key": key}, name=f"{key}_export")
      for key, spec in SPECS.items()],
    # Team queues/workload/settings, task templates and automation rules (tasks/urls_teams.py,
    # urls_templates.py, urls_automation.py); templates before the "tasks/" include.
    path("teams/", include("tasks.urls_teams")),
    path("tasks/templates/", include("tasks.urls_templates")),
    path("automation/", include("tasks.urls_automation")),
    # History, restore, discussion, attachments, notification settings (before "tasks/": /tasks/deleted/ ...).
    path("", include("crm.urls_activity")),
    path("tasks/", include("tasks.urls")),
    path("projects/", include("projects.urls")),
    path("memos/", include("memos.urls")),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", views_day.my_day, name="home"),
    path("notifications/", views_notifications.notification_list, name="notifications"),
    path("notifications/<int:pk>/open/", views_notifications.notification_open, name="notification_open"),
    path("notifications/read-all/", views_notifications.notification_read_all, name="notifications_read_all"),
    path("", include("crm.urls_entities")),
]

handler400 = "crm.errors.bad_request"
handler403 = "crm.errors.permission_denied"
handler404 = "crm.errors.page_not_found"
handler500 = "crm.errors.server_error"
