"""Admin for task templates, automation rules and their runs (imported at the end of tasks/admin.py)."""

from django import forms
from django.contrib import admin

from .models_automation import Action, AutomationRule, AutomationRun
from .models_templates import TaskTemplate, TaskTemplateChecklistItem, TaskTemplateSubtask


class TemplateChecklistInline(admin.TabularInline):
    model = TaskTemplateChecklistItem
    fields = ["position", "text"]
    extra = 0


class TemplateSubtaskInline(admin.TabularInline):
    model = TaskTemplateSubtask
    fields = ["position", "title", "task_type", "relative_due"]
    extra = 0


@admin.register(TaskTemplate)
class TaskTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "shared_with_team", "title", "task_type", "team", "relative_due"]
    list_filter = ["task_type", "shared_with_team", "team"]
    search_fields = ["name", "title", "owner__username"]
    list_select_related = ["owner", "shared_with_team", "team"]
    autocomplete_fields = ["owner", "shared_with_team", "team"]
    inlines = [TemplateChecklistInline, TemplateSubtaskInline]


class AutomationRuleAdminForm(forms.ModelForm):
    class Meta:
        model = AutomationRule
        fields = "__all__"

    def clean(self):
        data = super().clean()
        if data.get("action") == Action.NOTIFY and not data.get("notify_users"):
            self.add_error("notify_users", "Choose at least one person to notify.")
        return data


@admin.action(description="Enable selected rules")
def enable_rules(modeladmin, request, queryset):
    modeladmin.message_user(request, f"{queryset.update(is_active=True)} rule(s) enabled.")


@admin.action(description="Disable selected rules")
def disable_rules(modeladmin, request, queryset):
    modeladmin.message_user(request, f"{queryset.update(is_active=False)} rule(s) disabled.")


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    form = AutomationRuleAdminForm
    list_display = ["name", "trigger", "action", "team", "is_active", "created_by", "updated_at"]
    list_filter = ["is_active", "trigger", "action", "team"]
    search_fields = ["name"]
    list_select_related = ["team", "created_by"]
    autocomplete_fields = ["created_by", "team", "template", "assign_to", "distribute_to", "reassign_to",
                           "notify_users"]
    actions = [enable_rules, disable_rules]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "created_by", "team"]}),
        ("When", {"fields": ["trigger", "conditions"]}),
        ("Then", {"fields": ["action", "template", "assign_to", "distribute_to", "notify_users", "message",
                             "raise_priority", "notify_manager", "reassign_to"]}),
    ]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "rule", "trigger", "object_label", "depth", "status", "result"]
    list_filter = ["status", "trigger", "rule"]
    search_fields = ["event_key", "object_label", "result", "rule__name"]
    list_select_related = ["rule"]
    readonly_fields = ["rule", "trigger", "event_key", "content_type", "object_id", "object_label", "event_at",
                       "depth", "status", "result", "tasks", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
