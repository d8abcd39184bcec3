"""The task page's panel registry: features add cards without editing the task page."""

import pytest

from tasks import panels
from tasks.tests.factories import ParticipantFactory, TaskFactory


@pytest.fixture
def demo_panels(settings, tmp_path):
    folder = tmp_path / "tpl" / "panels_test"
    folder.mkdir(parents=True)
    (folder / "main.html").write_text('<section class="card" id="test-main">Main says {{ panel.word }}</section>')
    (folder / "side.html").write_text('<section class="card" id="test-side">Side for editors: {{ panel.word }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path / "tpl"]}]
    panels.register(panels.Panel(slug="test-main", label="Main", order=1, template="panels_test/main.html",
                                 context=lambda request, task, can_edit: {"word": task.title.upper()}))
    panels.register(panels.Panel(slug="test-side", label="Side", order=1, template="panels_test/side.html",
                                 column=panels.SIDE,
                                 context=lambda request, task, can_edit: {"word": "yes"} if can_edit else None))
    yield
    panels.unregister("test-main")
    panels.unregister("test-side")


def test_registered_panels_appear_in_their_column_and_can_hide_themselves(client, demo_panels, owner, teammate):
    task = TaskFactory(title="Quote", created_by=owner, assignee=owner)
    ParticipantFactory(task=task, user=teammate, role="subscriber")

    client.force_login(owner)
    as_editor = client.get(f"/tasks/{task.pk}/").content.decode()
    client.force_login(teammate)
    as_subscriber = client.get(f"/tasks/{task.pk}/").content.decode()

    assert "Main says QUOTE" in as_editor
    assert "Side for editors: yes" in as_editor
    assert as_editor.index('id="test-main"') < as_editor.index('<div class="col-lg-4">') < as_editor.index(
        'id="test-side"')
    assert "Main says QUOTE" in as_subscriber
    assert "Side for editors" not in as_subscriber


def test_a_panel_must_name_a_known_column():
    with pytest.raises(ValueError):
        panels.register(panels.Panel(slug="x", label="X", order=1, template="x.html",
                                     context=lambda *a: {}, column="footer"))
