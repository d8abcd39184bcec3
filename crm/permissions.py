"""Who may do what with CRM entities.

Entities are the team's shared address book: every signed-in user may read,
create and edit them. Deleting one removes shared history, so it needs the
model's delete permission (staff and superusers have it through the admin
groups; `seed_demo` gives it to team managers).
"""


def can_delete_entity(user, obj):
    return user.is_active and (
        user.is_superuser or user.has_perm(f"{obj._meta.app_label}.delete_{obj._meta.model_name}")
    )
