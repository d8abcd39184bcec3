"""Project pages under /projects/ (namespace "projects"), and the task page's Project panel actions."""

from django.urls import path

from . import views, views_templates

app_name = "projects"

urlpatterns = [
    path("", views.project_list_view, name="list"),
    path("new/", views.project_create_view, name="create"),
    path("templates/", views_templates.template_list_view, name="templates"),
    path("templates/new/", views_templates.template_create_view, name="template_create"),
    path("templates/<int:pk>/", views_templates.template_detail_view, name="template_detail"),
    path("templates/<int:pk>/edit/", views_templates.template_edit_view, name="template_edit"),
    path("templates/<int:pk>/delete/", views_templates.template_delete_view, name="template_delete"),
    path("templates/<int:pk>/use/", views_templates.template_use_view, name="template_use"),
    path("templates/use/", views_templates.template_use_chosen_view, name="template_use_chosen"),
    path("<int:pk>/", views.project_detail_view, name="detail"),
    path("<int:pk>/tasks/", views.project_tasks_view, name="tasks"),
    path("<int:pk>/tasks/new/", views.project_task_add_view, name="task_add"),
    path("<int:pk>/edit/", views.project_edit_view, name="edit"),
    path("<int:pk>/delete/", views.project_delete_view, name="delete"),
    path("<int:pk>/stages/", views.stage_add_view, name="stage_add"),
    path("<int:pk>/stages/<int:stage_pk>/rename/", views.stage_rename_view, name="stage_rename"),
    path("<int:pk>/stages/<int:stage_pk>/delete/", views.stage_delete_view, name="stage_delete"),
    path("<int:pk>/stages/<int:stage_pk>/move/", views.stage_move_view, name="stage_move"),
    # The Project panel on a task's page (tasks/panels_projects.py).
    path("task/<int:task_pk>/project/", views.task_move_view, name="task_move"),
    path("task/<int:task_pk>/dependencies/", views.dependency_add_view, name="dependency_add"),
    path("dependencies/<int:pk>/delete/", views.dependency_remove_view, name="dependency_remove"),
]
