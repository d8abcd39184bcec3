import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Q, Value, When
from django_filters.constants import EMPTY_VALUES

from .choices import Priority
from .forms import UserChoiceField
from .models import Individual, Opportunity, Organization, Ticket


class OrderingFilter(django_filters.OrderingFilter):
    """django-filter's OrderingFilter with two additions.

    `then`: a sort key may bring further fields along ("name" sorts by last, then first name).
    `ranks`: a choice field sorts in its natural order (low < medium < high < urgent,
    lead < ... < won < lost), not alphabetically by stored value.
    """

    def __init__(self, *args, then=None, ranks=None, **kwargs):
        self.then = then or {}
        self.ranks = ranks or {}
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        ordering = []
        for param in value:
            field = self.get_ordering_value(param)
            descending = field.startswith("-")
            name = field.lstrip("-")
            for part in (name, *self.then.get(name, ())):
                if part in self.ranks:
                    values = list(self.ranks[part])
                    alias = f"{part}_rank"
                    qs = qs.alias(**{alias: Case(
                        *[When(**{part: v}, then=Value(i)) for i, v in enumerate(values)],
                        default=Value(len(values)), output_field=IntegerField(),
                    )})
                    part = alias
                ordering.append(f"-{part}" if descending else part)
        return qs.order_by(*ordering)


class UserFilter(django_filters.ModelChoiceFilter):
    """Pick a user by full name (username when there is none)."""

    field_class = UserChoiceField


class SearchFilterSet(django_filters.FilterSet):
    search_fields: tuple = ()
    q = django_filters.CharFilter(method="filter_search", label="Search", max_length=200)

    def filter_search(self, queryset, name, value):
        """Every word must appear in some searched field: "ada lovelace" finds Ada Lovelace."""
        cond = Q()
        for word in value.split():
            word_cond = Q()
            for field in self.search_fields:
                word_cond |= Q(**{f"{field}__icontains": word})
            cond &= word_cond
        return queryset.filter(cond) if cond else queryset


class OrganizationFilter(SearchFilterSet):
    search_fields = ("name", "email", "website", "phone", "address")
    o = OrderingFilter(
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
    o = OrderingFilter(
        then={"last_name": ("first_name",)},
        fields=(("last_name", "name"), ("email", "email"), ("organization__name", "organization"),
                ("job_title", "job_title"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Individual
        fields = ["q", "organization"]


class TicketFilter(SearchFilterSet):
    search_fields = ("subject", "description", "requester__first_name", "requester__last_name", "organization__name")
    status = django_filters.ChoiceFilter(choices=Ticket.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    o = OrderingFilter(
        ranks={"status": Ticket.Status.values, "priority": Priority.values},
        fields=(("subject", "subject"), ("status", "status"), ("priority", "priority"),
                ("organization__name", "organization"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Ticket
        fields = ["q", "status", "priority", "organization"]


class OpportunityFilter(SearchFilterSet):
    search_fields = ("name", "organization__name", "contact__first_name", "contact__last_name")
    stage = django_filters.ChoiceFilter(choices=Opportunity.Stage.choices)
    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    owner = UserFilter(
        queryset=get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username"))
    o = OrderingFilter(
        ranks={"stage": Opportunity.Stage.values},
        fields=(("name", "name"), ("stage", "stage"), ("amount", "amount"),
                ("expected_close_date", "close"), ("organization__name", "organization"), ("created_at", "created")),
        label="Sort",
    )

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "organization", "owner"]
