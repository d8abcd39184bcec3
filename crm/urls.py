from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tasks import views_day

from . import views, views_notifications

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tasks/calendar/", views_day.task_calendar, name="calendar"),
    path("tasks/", include("tasks.urls")),
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
