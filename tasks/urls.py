"""Task pages under /tasks/ (the project includes them with the "tasks" namespace).

Every change is a POST; GET only shows pages (and the confirmation steps of
delete and bulk actions).
"""

from django.urls import path

from . import views, views_recurrence

app_name = "tasks"

urlpatterns = [
    path("", views.task_list_view, name="list"),
    path("new/", views.task_create_view, name="create"),
    path("bulk/", views.task_bulk_view, name="bulk"),
    path("<int:pk>/", views.task_detail_view, name="detail"),
    path("<int:pk>/edit/", views.task_edit_view, name="edit"),
    path("<int:pk>/delete/", views.task_delete_view, name="delete"),
    path("<int:pk>/status/", views.task_status_view, name="status"),
    path("<int:pk>/complete/", views.task_complete_view, name="complete"),
    path("<int:pk>/claim/", views.task_claim_view, name="claim"),
    path("<int:pk>/assign/", views.task_assign_view, name="assign"),
    path("<int:pk>/checklist/", views.checklist_add_view, name="checklist_add"),
    path("<int:pk>/checklist/<int:item_pk>/toggle/", views.checklist_toggle_view, name="checklist_toggle"),
    path("<int:pk>/checklist/<int:item_pk>/delete/", views.checklist_delete_view, name="checklist_delete"),
    path("<int:pk>/checklist/<int:item_pk>/move/", views.checklist_move_view, name="checklist_move"),
    path("<int:pk>/participants/", views.participant_add_view, name="participant_add"),
    path("<int:pk>/participants/<int:user_pk>/remove/", views.participant_remove_view, name="participant_remove"),
    # Repeating tasks and reminders (tasks/views_recurrence.py).
    path("recurrence/preview/", views_recurrence.recurrence_preview_view, name="recurrence_preview"),
    path("reminders/<int:pk>/snooze/<str:token>/", views_recurrence.reminder_snooze_link_view,
         name="reminder_snooze_link"),
    path("<int:pk>/repeat/stop/", views_recurrence.series_stop_view, name="series_stop"),
    path("<int:pk>/reminders/", views_recurrence.reminder_add_view, name="reminder_add"),
    path("<int:pk>/reminders/<int:reminder_pk>/delete/", views_recurrence.reminder_delete_view,
         name="reminder_delete"),
    path("<int:pk>/reminders/<int:reminder_pk>/snooze/", views_recurrence.reminder_snooze_view,
         name="reminder_snooze"),
]
