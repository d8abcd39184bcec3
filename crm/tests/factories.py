"""factory_boy factories for crm records. Task factories live in tasks/tests/factories.py."""

import factory
from django.contrib.auth import get_user_model

from crm.models import Individual, Opportunity, Organization, Team, TeamMembership, Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    task_types = factory.LazyFunction(list)
    is_active = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    email = factory.Sequence(lambda n: f"info{n}@org.example.com")
    phone = "+49 30 1234567"


class IndividualFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Individual

    first_name = factory.Faker("first_name")
    last_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    organization = factory.SubFactory(OrganizationFactory)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket subject {n}")
    organization = factory.SubFactory(OrganizationFactory)


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Deal {n}")
    organization = factory.SubFactory(OrganizationFactory)
    amount = "1000.00"


def grant(user, *perms):
    """Give `user` permissions named like "crm.delete_organization"; returns the user re-read (fresh perm cache)."""
    from django.contrib.auth.models import Permission

    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)


def set_time_zone(user, time_zone):
    """Set the profile time zone every page uses to show dates to `user`."""
    user.profile.time_zone = time_zone
    user.profile.save()
    return user
