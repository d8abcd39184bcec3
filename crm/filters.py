import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import Individual, Opportunity, Organization, Ticket


class SearchFilterSet(django_filters.FilterSet):
    search_fields: tuple = ()
    q = django_filters.CharFilter(method="filter_search", label="Search")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        cond = Q()
        for field in self.search_fields:
            cond |= Q(**{f"{field}__icontains": value})
        return queryset.filter(cond)


class OrganizationFilter(SearchFilterSet):
    search_fields = ("name", "email", "website", "phone", "address")
    o = django_filters.OrderingFilter(
        fields=(("name", "name"), ("email", "email"), ("created_at", "created")),
        field_labels={"name": "Name", "email": "Email", "created_at": "Created"},
        label="Sort",
    )

    class Meta:
        model = Organization
        fields = ["q"]


class IndividualFilter(SearchFilterSet):
    search_fields = ("first_name", "last_name", "email", "phone", "job_title", "organization__name")
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    o = django_filters.OrderingFilter(
        fields=(("last_name", "name"), ("email", "email"), ("organization__name", "organization"),
                ("job_title", "job_title"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Individual
        fields = ["q", "organization"]


class TicketFilter(SearchFilterSet):
    search_fields = ("subject", "description", "requester__last_name", "organization__name")
    status = django_filters.ChoiceFilter(choices=Ticket.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Ticket._meta.get_field("priority").choices)
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    o = django_filters.OrderingFilter(
        fields=(("subject", "subject"), ("status", "status"), ("priority", "priority"),
                ("organization__name", "organization"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "priority", "organization"]


class OpportunityFilter(SearchFilterSet):
    search_fields = ("name", "organization__name", "contact__last_name")
    stage = django_filters.ChoiceFilter(choices=Opportunity.Stage.choices)
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.filter(is_active=True))
    o = django_filters.OrderingFilter(
        fields=(("name", "name"), ("stage", "stage"), ("amount", "amount"),
                ("expected_close_date", "close"), ("organization__name", "organization"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "organization", "owner"]
