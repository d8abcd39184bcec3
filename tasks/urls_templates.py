"""Task template pages under /tasks/templates/ (namespace "task_templates")."""

from django.urls import path

from . import views_templates

app_name = "task_templates"

urlpatterns = [
    path("", views_templates.template_list_view, name="list"),
    path("new/", views_templates.template_create_view, name="create"),
    path("<int:pk>/edit/", views_templates.template_edit_view, name="edit"),
    path("<int:pk>/delete/", views_templates.template_delete_view, name="delete"),
    path("<int:pk>/use/", views_templates.template_use_view, name="use"),
]
