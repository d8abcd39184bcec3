"""In-app notifications: the bell's unread count, the list, opening one, marking all read."""

from datetime import datetime, timezone

import time_machine

from crm.models import Notification
from crm.notifications import notify
from crm.tests.factories import OrganizationFactory


def test_notify_records_a_notification_but_never_for_ones_own_action(owner, teammate):
    org = OrganizationFactory(name="Acme")

    notify(recipient=owner, actor=teammate, verb="assigned", text="Tom assigned you “Call Acme”.", target=org)
    notify(recipient=owner, actor=owner, verb="assigned", text="You assigned yourself.", target=org)

    assert list(Notification.objects.values_list("recipient__username", "text", "url")) == [
        ("owner", "Tom assigned you “Call Acme”.", f"/organizations/{org.pk}/"),
    ]


def test_bell_shows_unread_count_and_list_shows_own_notifications_only(client, owner, teammate):
    notify(recipient=owner, actor=teammate, verb="assigned", text="First", target=None)
    notify(recipient=owner, actor=teammate, verb="assigned", text="Second", target=None)
    notify(recipient=teammate, actor=owner, verb="assigned", text="Not for owner", target=None)
    client.force_login(owner)

    html = client.get("/notifications/").content.decode()

    assert 'aria-label="Notifications, 2 unread"' in html
    assert "First" in html and "Second" in html
    assert "Not for owner" not in html


@time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc), tick=False)
def test_opening_a_notification_marks_it_read_and_goes_to_its_object(client, owner, teammate):
    org = OrganizationFactory()
    note = notify(recipient=owner, actor=teammate, verb="assigned", text="Look", target=org)
    client.force_login(owner)

    response = client.post(f"/notifications/{note.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == f"/organizations/{org.pk}/"
    note.refresh_from_db()
    assert note.read_at == datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_someone_elses_notification_is_a_404_and_stays_unread(client, owner, outsider):
    note = notify(recipient=owner, actor=None, verb="assigned", text="Private", target=None)
    client.force_login(outsider)

    response = client.post(f"/notifications/{note.pk}/open/")

    assert response.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read_touches_only_my_unread(client, owner, teammate):
    notify(recipient=owner, actor=None, verb="x", text="a", target=None)
    notify(recipient=owner, actor=None, verb="x", text="b", target=None)
    notify(recipient=teammate, actor=None, verb="x", text="c", target=None)
    client.force_login(owner)

    response = client.post("/notifications/read-all/", follow=True)

    assert "Marked 2 notification(s) read." in response.content.decode()
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("text", flat=True)) == {"c"}


def test_opening_requires_post(client, owner):
    note = notify(recipient=owner, actor=None, verb="x", text="a", target=None)
    client.force_login(owner)

    response = client.get(f"/notifications/{note.pk}/open/")

    assert response.status_code == 405
