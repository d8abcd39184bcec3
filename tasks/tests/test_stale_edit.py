"""Two people edit the same task: the later save is refused (409), shows what changed, and keeps the input."""

from datetime import datetime
from datetime import timezone as dt_timezone

from django.core import signing
from django.test import Client

from crm.tests import html
from tasks.models import Task
from tasks.tests.factories import TaskFactory


def loaded_form(client, url):
    """The edit form's values as the browser would send them back."""
    form = html.main(client.get(url)).find("form", method="post")
    data = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name or name == "csrfmiddlewaretoken":
            continue
        if node.tag == "input" and node.attrs.get("type") != "submit":
            data[name] = node.attrs.get("value", "")
        elif node.tag == "textarea":  # its text as a browser sends it (without the newline after the tag)
            raw = "".join(c for c in node.children if isinstance(c, str))
            data[name] = raw[1:] if raw.startswith("\n") else raw
        elif node.tag == "select":
            chosen = [o.attrs.get("value", "") for o in node.find_all("option") if "selected" in o.attrs]
            data[name] = chosen[0] if chosen else ""
    return data


def stale_table(response):
    table = html.main(response).find("table", cls="stale-changes")
    return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


def test_the_later_save_is_refused_with_what_changed_and_can_then_be_reapplied(client, owner, manager, team):
    task = TaskFactory(title="Call Acme", created_by=owner, team=team, priority="medium",
                       description="Ask about:\nseats",
                       begin_at=datetime(2025, 3, 1, 9, 30, 15, tzinfo=dt_timezone.utc),
                       due_at=datetime(2025, 3, 20, tzinfo=dt_timezone.utc), all_day=True)
    url = f"/tasks/{task.pk}/edit/"
    client.force_login(owner)
    mine = loaded_form(client, url)
    other = Client()
    other.force_login(manager)
    theirs = loaded_form(other, url)
    other.post(url, {**theirs, "title": "Call Acme (manager)", "priority": "high", "due_date": "2025-03-21",
                     "description": theirs["description"].replace("\n", "\r\n")})  # as a browser sends it

    refused = client.post(url, {**mine, "title": "Call Acme today", "location": "Phone"})
    after_refusal = Task.objects.values_list("title", "priority", "location", "version").get(pk=task.pk)
    form = html.main(refused).find("form", method="post")
    resubmit = {**mine, "title": form.find("input", name="title").attrs["value"],
                "location": form.find("input", name="location").attrs["value"],
                "version": form.find("input", name="version").attrs["value"],
                "snapshot": form.find("input", name="snapshot").attrs["value"]}
    reapplied = client.post(url, resubmit)

    assert refused.status_code == 409
    assert html.messages(refused) == [
        "Someone else changed this task while you were editing it, so your changes were not saved. "
        "Check what changed, then save again to apply your version."]
    assert stale_table(refused) == [
        ["Title", "Call Acme", "Call Acme (manager)"],
        ["Priority", "Medium", "High"],
        ["Due", "20 Mar 2025", "21 Mar 2025"],
    ]
    assert after_refusal == ("Call Acme (manager)", "high", "", 2)
    assert (resubmit["title"], resubmit["location"], resubmit["version"]) == ("Call Acme today", "Phone", "2")
    assert signing.loads(resubmit["snapshot"])["title"] == "Call Acme (manager)"
    assert reapplied.status_code == 302
    assert Task.objects.values_list("title", "priority", "location", "version").get(pk=task.pk) == (
        "Call Acme today", "medium", "Phone", 3)


def test_a_status_change_meanwhile_also_makes_the_edit_stale(client, owner):
    task = TaskFactory(title="Call Acme", created_by=owner)
    url = f"/tasks/{task.pk}/edit/"
    client.force_login(owner)
    mine = loaded_form(client, url)
    client.post(f"/tasks/{task.pk}/status/", {"status": "in_progress"})

    refused = client.post(url, {**mine, "title": "Renamed"})

    assert refused.status_code == 409
    assert stale_table(refused) == [["Status", "Pending", "In progress"]]
    assert Task.objects.values_list("title", "status").get(pk=task.pk) == ("Call Acme", "in_progress")


def test_a_forged_snapshot_does_not_hide_a_stale_edit(client, owner):
    task = TaskFactory(title="Call Acme", created_by=owner)
    url = f"/tasks/{task.pk}/edit/"
    client.force_login(owner)
    mine = loaded_form(client, url)
    Task.objects.filter(pk=task.pk).update(title="Changed elsewhere", version=2)

    refused = client.post(url, {**mine, "title": "Mine", "snapshot": "forged"})

    assert refused.status_code == 409
    assert "The task was saved again" in html.main(refused).find("div", cls="stale-edit").text()
    assert Task.objects.values_list("title", "version").get(pk=task.pk) == ("Changed elsewhere", 2)
