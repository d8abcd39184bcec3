from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .forms import ProfileAdminForm, TeamMembershipAdminForm
from .models import (
    Individual, Notification, Opportunity, Organization, Profile, Team, TeamMembership, Ticket, WorkerHeartbeat,
)

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileAdminForm
    can_delete = False
    fields = ["time_zone", "default_hourly_rate"]


class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]


admin.site.unregister(User)
admin.site.register(User, UserAdmin)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    form = TeamMembershipAdminForm
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "distribution_strategy", "member_count"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["manager"]
    fields = ["name", "description", "manager", "distribution_strategy", "rr_position"]
    readonly_fields = ["rr_position"]
    inlines = [MembershipInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "distribution_strategy":
            # The strategies are registered by the tasks app (tasks.distribution): offer them all.
            from django import forms

            from tasks import distribution

            return forms.ChoiceField(choices=distribution.choices(), label="Distribution",
                                     initial=distribution.DEFAULT_STRATEGY, help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("manager").annotate(n_members=Count("memberships"))

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj):
        return obj.n_members


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    form = TeamMembershipAdminForm
    list_display = ["user", "team", "is_active", "task_types"]
    list_filter = ["team", "is_active"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "team__name"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Every user gets a profile when created (crm.signals); here they are only edited."""

    form = ProfileAdminForm
    readonly_fields = ["user"]
    list_select_related = ["user"]

    list_display = ["user", "time_zone", "default_hourly_rate"]
    list_filter = ["time_zone"]
    search_fields = ["user__username", "user__email"]

    def has_add_permission(self, request):
        return False


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "email", "phone", "website", "created_at"]
    search_fields = ["name", "email", "phone", "website"]
    list_filter = ["created_at"]


@admin.register(Individual)
class IndividualAdmin(SimpleHistoryAdmin):
    list_display = ["last_name", "first_name", "organization", "job_title", "email", "phone"]
    list_filter = ["organization"]
    search_fields = ["first_name", "last_name", "email", "phone", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]


@admin.register(Ticket)
class TicketAdmin(SimpleHistoryAdmin):
    list_display = ["subject", "status", "priority", "organization", "requester", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["subject", "description", "organization__name", "requester__first_name",
                     "requester__last_name", "requester__email"]
    list_select_related = ["organization", "requester"]
    autocomplete_fields = ["organization", "requester"]


@admin.register(Opportunity)
class OpportunityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "organization", "stage", "amount", "currency", "expected_close_date", "owner"]
    list_filter = ["stage", "currency", "owner"]
    search_fields = ["name", "organization__name", "contact__first_name", "contact__last_name"]
    list_select_related = ["organization", "owner"]
    autocomplete_fields = ["organization", "contact", "owner"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Shows when a Celery worker last ran the heartbeat job: a quick "is the worker alive?" check."""

    list_display = ["name", "last_seen"]
    readonly_fields = ["name", "last_seen"]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "verb", "text", "created_at", "read_at"]
    list_filter = ["verb", "read_at"]
    search_fields = ["recipient__username", "text"]
    raw_id_fields = ["recipient", "actor"]
    list_select_related = ["recipient"]


from . import admin_activity  # noqa: E402,F401  (comments, attachments, notification emails and preferences)
