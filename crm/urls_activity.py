"""URLs of history, restore, discussion, attachments and notification settings (namespace "activity").

Included by crm/urls.py before the "tasks/" include, so /tasks/deleted/ and
/tasks/<id>/history/ are found here.
"""

from django.urls import path

from tasks import views_history as task_history_views

from . import views_attachments, views_discussion, views_prefs

app_name = "activity"

urlpatterns = [
    path("tasks/deleted/", task_history_views.deleted_tasks_view, name="deleted_tasks"),
    path("tasks/deleted/<int:pk>/restore/", task_history_views.task_restore_deleted_view, name="task_restore_deleted"),
    path("tasks/<int:pk>/history/", task_history_views.task_history_view, name="task_history"),
    path("tasks/<int:pk>/history/<int:history_id>/restore/", task_history_views.task_restore_version_view,
         name="task_restore_version"),
    path("discussion/<str:model>/<int:pk>/", views_discussion.comment_post, name="comment_post"),
    path("discussion/comments/<int:pk>/edit/", views_discussion.comment_edit, name="comment_edit"),
    path("discussion/comments/<int:pk>/delete/", views_discussion.comment_delete, name="comment_delete"),
    path("attachments/<str:model>/<int:pk>/upload/", views_attachments.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", views_attachments.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views_attachments.attachment_delete, name="attachment_delete"),
    path("settings/notifications/", views_prefs.notification_settings, name="notification_settings"),
]
