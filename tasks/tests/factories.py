"""factory_boy factories for tasks. Other apps' tests import these: keep the names stable.

TaskFactory saves the row directly (no service, no notification) but keeps the
derived columns right: `tree_path` follows `parent`, `completed_at` is set for
a completed task. Pass `tags=[...]` to tag the task after it is saved.
"""

import factory
from django.utils import timezone

from crm.tests.factories import UserFactory
from tasks.models import ChecklistItem, Participant, Task, TaskStatus


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Task {n}")
    created_by = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        parent = kwargs.get("parent")
        kwargs.setdefault("tree_path", "/" if parent is None else f"{parent.tree_path}{parent.pk}/")
        if kwargs.get("status") == TaskStatus.COMPLETED:
            kwargs.setdefault("completed_at", timezone.now())
        return super()._create(model_class, *args, **kwargs)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(list(extracted))


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    task = factory.SubFactory(TaskFactory)
    text = factory.Sequence(lambda n: f"Step {n}")
    position = factory.Sequence(lambda n: n)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    task = factory.SubFactory(TaskFactory)
    user = factory.SubFactory(UserFactory)
    role = Participant.Role.SUBSCRIBER
