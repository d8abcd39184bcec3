"""Accounts (login, logout, password change) and the per-user profile (time zone, hourly rate)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from crm.models import Profile
from crm.tests.factories import OrganizationFactory, UserFactory, set_time_zone
from crm.tests.html import definitions, field_errors, main, messages, parse

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def signed_in_user(client):
    """Username the site now considers signed in (None when anonymous)."""
    response = client.get(reverse("crm:profile"))
    if response.status_code != 200:
        return None
    return response.wsgi_request.user.username


def time_zone_shown(response):
    """The time zone the navigation menu says dates are shown in."""
    item = next(n for n in parse(response).find_all("span", cls="dropdown-item-text") if "Time zone" in n.text())
    return item.text()


# --- Login and logout -----------------------------------------------------------------------------


def test_login_with_the_right_password_goes_to_the_page_asked_for(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "pw",
                                              "next": reverse("crm:ticket_list")})

    assert (response.status_code, response["Location"]) == (302, reverse("crm:ticket_list"))
    assert signed_in_user(client) == "owner"


def test_login_without_next_goes_to_my_day(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "pw"})

    assert response["Location"] == "/"


def test_login_with_a_wrong_password_says_so_and_signs_nobody_in(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "wrong"})

    assert [n.text() for n in main(response).find_all("div", cls="alert-danger")] == [
        "Your username and password didn't match. Please try again."]
    assert main(response).find("input", name="username").attrs["value"] == "owner"
    assert signed_in_user(client) is None


def test_an_inactive_user_cannot_sign_in(client):
    UserFactory(username="gone", is_active=False)

    client.post(reverse("login"), {"username": "gone", "password": "pw"})

    assert signed_in_user(client) is None


def test_login_does_not_redirect_to_another_site(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "pw",
                                              "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_logout_signs_out_and_goes_to_login(client, owner):
    client.force_login(owner)

    response = client.post(reverse("logout"))

    assert (response.status_code, response["Location"]) == (302, reverse("login"))
    assert signed_in_user(client) is None


def test_the_menu_names_the_signed_in_user(client, owner):
    client.force_login(owner)

    response = client.get(reverse("crm:team_list"))

    assert parse(response).find("a", data_testid="signed-in-user").text() == "Olga Owner"


def test_a_wrong_password_is_a_400(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "wrong"})

    assert response.status_code == 400
    assert [n.text() for n in main(response).find_all("div", cls="alert-danger")] == [
        "Your username and password didn't match. Please try again."]


def test_the_sites_login_and_password_change_answer_400_to_bad_input(client, owner):
    login = client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    client.force_login(owner)
    change = client.post(reverse("password_change"), {"old_password": "nope", "new_password1": "x",
                                                      "new_password2": "x"})

    assert (login.status_code, change.status_code) == (400, 400)


# --- Password change ------------------------------------------------------------------------------


def test_change_password(client, owner):
    client.force_login(owner)

    response = client.post(reverse("password_change"), {
        "old_password": "pw", "new_password1": "correct horse battery", "new_password2": "correct horse battery",
    }, follow=True)

    assert response.redirect_chain == [(reverse("password_change_done"), 302)]
    assert main(response).find("h1").text() == "Password changed"
    owner.refresh_from_db()
    assert (owner.check_password("correct horse battery"), owner.check_password("pw")) == (True, False)
    assert signed_in_user(client) == "owner"  # the session survives the change


@pytest.mark.parametrize(("data", "errors"), [
    ({"old_password": "nope", "new_password1": "correct horse battery", "new_password2": "correct horse battery"},
     {"old_password": ["Your old password was entered incorrectly. Please enter it again."]}),
    ({"old_password": "pw", "new_password1": "correct horse battery", "new_password2": "correct horse"},
     {"new_password2": ["The two password fields didn’t match."]}),
    ({"old_password": "pw", "new_password1": "12345", "new_password2": "12345"},
     {"new_password2": ["This password is too short. It must contain at least 8 characters.",
                        "This password is too common.", "This password is entirely numeric."]}),
])
def test_a_bad_password_change_says_why_and_changes_nothing(client, owner, data, errors):
    client.force_login(owner)

    response = client.post(reverse("password_change"), data)

    assert response.status_code == 400
    assert field_errors(response) == errors
    owner.refresh_from_db()
    assert owner.check_password("pw")


# --- Profile --------------------------------------------------------------------------------------


def test_every_new_user_has_a_profile_in_utc_with_no_rate():
    user = get_user_model().objects.create_user("newbie", password="pw")

    assert Profile.objects.filter(user=user).values_list("time_zone", "default_hourly_rate").get() == (
        "UTC", Decimal("0.00"))


def test_profile_page_shows_the_current_settings(client, owner):
    owner.profile.time_zone = "Europe/Berlin"
    owner.profile.default_hourly_rate = Decimal("85.50")
    owner.profile.save()
    client.force_login(owner)

    response = client.get(reverse("crm:profile"))

    form = main(response).find("form")
    assert [o.attrs["value"] for o in form.find("select", name="time_zone").find_all("option")
            if "selected" in o.attrs] == ["Europe/Berlin"]
    assert form.find("input", name="default_hourly_rate").attrs["value"] == "85.50"
    assert time_zone_shown(response) == "Time zone: Europe/Berlin"


def test_saving_the_profile_changes_the_zone_of_every_date_shown(client, owner):
    with time_machine.travel(datetime(2024, 1, 15, 21, 5, tzinfo=BERLIN), tick=False):
        org = OrganizationFactory(name="Acme")
    client.force_login(owner)
    before = dict(definitions(main(client.get(org.get_absolute_url()))))["Created"]

    response = client.post(reverse("crm:profile"), {"time_zone": "America/New_York",
                                                    "default_hourly_rate": "120.00"}, follow=True)
    after = dict(definitions(main(client.get(org.get_absolute_url()))))["Created"]

    assert response.redirect_chain == [(reverse("crm:profile"), 302)]
    assert messages(response) == ["Your settings are saved."]
    assert time_zone_shown(response) == "Time zone: America/New_York"
    assert Profile.objects.values_list("time_zone", "default_hourly_rate").get(user=owner) == (
        "America/New_York", Decimal("120.00"))
    assert (before, after) == ("15 Jan 2024, 20:05 UTC", "15 Jan 2024, 15:05 EST")


@pytest.mark.parametrize(("data", "errors"), [
    ({"time_zone": "Mars/Olympus_Mons", "default_hourly_rate": "10"},
     {"time_zone": ["Select a valid choice. Mars/Olympus_Mons is not one of the available choices."]}),
    ({"time_zone": "UTC", "default_hourly_rate": "-1"},
     {"default_hourly_rate": ["Ensure this value is greater than or equal to 0."]}),
    ({"time_zone": "UTC", "default_hourly_rate": "lots"},
     {"default_hourly_rate": ["Enter a number."]}),
    ({"time_zone": "UTC", "default_hourly_rate": "12345678901"},
     {"default_hourly_rate": ["Ensure that there are no more than 10 digits in total."]}),
    ({"time_zone": "", "default_hourly_rate": ""},
     {"time_zone": ["This field is required."], "default_hourly_rate": ["This field is required."]}),
])
def test_bad_profile_input_is_a_readable_400_and_saves_nothing(client, owner, data, errors):
    client.force_login(owner)

    response = client.post(reverse("crm:profile"), data)

    assert response.status_code == 400
    assert messages(response) == ["Please correct the errors below."]
    assert field_errors(response) == errors
    assert Profile.objects.values_list("time_zone", "default_hourly_rate").get(user=owner) == ("UTC", Decimal("0"))


def test_profile_page_creates_a_missing_profile(client, owner):
    Profile.objects.filter(user=owner).delete()
    client.force_login(get_user_model().objects.get(pk=owner.pk))

    response = client.get(reverse("crm:profile"))

    assert response.status_code == 200
    assert list(Profile.objects.filter(user=owner).values_list("time_zone", flat=True)) == ["UTC"]


def test_a_stored_time_zone_that_no_longer_exists_falls_back_to_utc(client, owner):
    Profile.objects.filter(user=owner).update(time_zone="Atlantis/Capital")
    with time_machine.travel(datetime(2024, 1, 15, 21, 5, tzinfo=BERLIN), tick=False):
        org = OrganizationFactory(name="Acme")
    client.force_login(owner)

    response = client.get(org.get_absolute_url())

    assert response.status_code == 200
    assert dict(definitions(main(response)))["Created"] == "15 Jan 2024, 20:05 UTC"


def test_time_zone_choices_are_readable(client, owner):
    set_time_zone(owner, "America/New_York")
    client.force_login(owner)

    response = client.get(reverse("crm:profile"))

    options = dict((o.attrs["value"], o.text()) for o in main(response).find("select", name="time_zone").find_all(
        "option"))
    assert (options["America/New_York"], options["UTC"]) == ("America/New York", "UTC")
