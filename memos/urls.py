"""Memo pages under /memos/ (namespace "memos")."""

from django.urls import path

from . import views

app_name = "memos"

urlpatterns = [
    path("", views.memo_list_view, name="list"),
    path("new/", views.memo_create_view, name="create"),
    path("<int:pk>/", views.memo_detail_view, name="detail"),
    path("<int:pk>/edit/", views.memo_edit_view, name="edit"),
    path("<int:pk>/delete/", views.memo_delete_view, name="delete"),
    path("<int:pk>/send/", views.memo_send_view, name="send"),
    path("<int:pk>/review/", views.memo_review_view, name="review"),
    path("<int:pk>/convert/task/", views.memo_convert_task_view, name="convert_task"),
    path("<int:pk>/convert/project/", views.memo_convert_project_view, name="convert_project"),
    path("<int:pk>/reminders/", views.memo_remind_view, name="remind"),
    path("<int:pk>/reminders/<int:reminder_pk>/delete/", views.memo_reminder_delete_view, name="reminder_delete"),
]
