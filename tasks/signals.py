"""Events automation rules listen for, as decoupled hooks.

- `task_completed` is sent by `services.task_change_status` for every task it completes.
- "created" is heard on post_save of the four CRM entities.
- "opportunity changes stage" / "ticket changes status": pre_save reads the stored
  value, post_save compares it with the saved one.

Receivers only describe the event (primitive values) and hand it to
`automation.queue_event`, which queues a Celery job after commit. No rule is
evaluated here, and nothing happens for raw saves (fixtures).
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

from crm.models import Individual, Opportunity, Organization, Ticket

# Sent with task=<Task> and user=<User> once the status change is saved (inside its transaction).
task_completed = Signal()

# The field whose change is an event, per model, and the trigger it fires.
CHANGE_TRIGGERS = {
    Opportunity: ("stage", "opportunity_stage_changed"),
    Ticket: ("status", "ticket_status_changed"),
}
CREATE_TRIGGERS = {
    Individual: "individual_created",
    Organization: "organization_created",
    Ticket: "ticket_created",
    Opportunity: "opportunity_created",
}


@receiver(pre_save, sender=Opportunity)
@receiver(pre_save, sender=Ticket)
def remember_previous_value(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    name, _ = CHANGE_TRIGGERS[sender]
    instance._automation_previous = (
        sender._default_manager.filter(pk=instance.pk).values_list(name, flat=True).first()
    )


@receiver(post_save, sender=Individual)
@receiver(post_save, sender=Organization)
@receiver(post_save, sender=Opportunity)
@receiver(post_save, sender=Ticket)
def entity_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from . import automation

    if created:
        automation.queue_event(trigger=CREATE_TRIGGERS[sender], obj=instance)
        return
    if sender in CHANGE_TRIGGERS:
        name, trigger = CHANGE_TRIGGERS[sender]
        previous = getattr(instance, "_automation_previous", None)
        instance.__dict__.pop("_automation_previous", None)
        current = getattr(instance, name)
        if previous is not None and previous != current:
            automation.queue_event(trigger=trigger, obj=instance, previous=previous)


@receiver(task_completed)
def task_was_completed(sender, task, user=None, **kwargs):
    from . import automation

    automation.queue_event(trigger="task_completed", obj=task)
