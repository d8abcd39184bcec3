"""Fixtures of the projects tests: a project of `owner` with three stages, helpers that read state."""

import pytest

from projects import services


@pytest.fixture
def project(owner):
    return services.project_create(user=owner, name="Connect Acme", stages=["Order", "Connection", "Handover"])


@pytest.fixture
def stages(project):
    return list(project.stages.order_by("position"))

