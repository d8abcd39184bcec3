"""Back-office admin for projects, their stages, dependencies and templates.

Projects are read and lightly edited here (name, description, status, dates, team); stages,
tasks and dependencies change through the project pages, where the stage gates are kept.
"""

from django.contrib import admin

from .models import Project, ProjectMember, ProjectTemplate, ProjectTemplateStage, Stage, TaskDependency


class StageInline(admin.TabularInline):
    model = Stage
    fields = ["position", "name", "opened_at"]
    readonly_fields = ["position", "opened_at"]
    extra = 0
    can_delete = False


class MemberInline(admin.TabularInline):
    model = ProjectMember
    fields = ["user", "added_at"]
    readonly_fields = ["added_at"]
    autocomplete_fields = ["user"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "owner", "team", "start_date", "due_date", "created_at"]
    list_filter = ["status", "team"]
    search_fields = ["name", "description", "=id"]
    list_select_related = ["owner", "team"]
    autocomplete_fields = ["owner", "team"]
    readonly_fields = ["created_by", "created_at", "updated_at", "template"]
    fields = ["name", "description", "status", "owner", "team", "start_date", "due_date", "content_type",
              "object_id", "template", "created_by", "created_at", "updated_at"]
    inlines = [StageInline, MemberInline]


@admin.register(TaskDependency)
class TaskDependencyAdmin(admin.ModelAdmin):
    list_display = ["successor", "predecessor", "created_by", "created_at"]
    raw_id_fields = ["successor", "predecessor"]
    readonly_fields = ["created_by", "created_at"]

    def has_add_permission(self, request):
        return False  # added on the task page, where loops are refused

    def has_change_permission(self, request, obj=None):
        return False


class TemplateStageInline(admin.TabularInline):
    model = ProjectTemplateStage
    fields = ["position", "name"]
    extra = 0


@admin.register(ProjectTemplate)
class ProjectTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "shared_with_team", "team", "updated_at"]
    search_fields = ["name"]
    autocomplete_fields = ["owner"]
    inlines = [TemplateStageInline]
