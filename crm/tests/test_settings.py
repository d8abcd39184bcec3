"""Production settings pass Django's deployment checks, and malformed environment values stop start-up."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _run(args, tmp_path, **env):
    """Run Python in a fresh process with a production-like environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}}
    base.update({
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    })
    for key, value in env.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=base, capture_output=True, text=True, timeout=60,
    )


def test_check_deploy_finds_no_issues_in_production(tmp_path):
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path,
        SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="crm.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_server_without_secret_key_refuses_to_start(tmp_path):
    result = _run(["manage.py", "check"], tmp_path, SECRET_KEY=None, ALLOWED_HOSTS="crm.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_check_deploy_flags_the_public_fallback_key(tmp_path):
    result = _run(["manage.py", "check", "--deploy"], tmp_path, SECRET_KEY=None, ALLOWED_HOSTS=None)

    assert "security.W009" in result.stderr + result.stdout


@pytest.mark.parametrize("name, value", [("DEBUG", "maybe"), ("EMAIL_PORT", "twenty-five"), ("SECURE_SSL_REDIRECT", "sure")])
def test_malformed_values_stop_settings_import(tmp_path, name, value):
    result = _run(["-c", "import crm.settings"], tmp_path, SECRET_KEY=secrets.token_urlsafe(64), **{name: value})

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert name in last_line and repr(value) in last_line


def test_env_example_documents_every_variable_the_settings_read():
    source = (BASE_DIR / "crm" / "settings.py").read_text()
    read = set(re.findall(r"""env_(?:str|bool|int|list)\(\s*["']([A-Z0-9_]+)["']""", source))
    documented = set(re.findall(r"^#?\s?([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))

    assert read, "no env_*() calls found in crm/settings.py"
    assert read - documented == set()
