"""Demo and scale task data for `seed_demo` (filled in by the tasks feature)."""


def seed_tasks(*, count, users, teams, stdout=None):
    """Create `count` realistic tasks in bulk. Returns the number created."""
    return 0
