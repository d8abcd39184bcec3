#!/usr/bin/env python3
"""Run the development site as one command: Django's runserver, a Celery worker and Celery beat.

Used by `make run`. The three processes' output is forwarded line by line with a
name prefix. Ctrl-C (SIGINT), SIGTERM, or any one of them exiting stops all
three; nothing is left running.

Before the worker and beat start, the Celery queue is declared once: kombu's
SQLAlchemy transport (the embedded broker used when REDIS_URL is unset) creates
its tables and queue rows on first use, and two processes doing that at the
same moment can fail. Declaring on Redis is harmless.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
COLORS = {"web": "\033[36m", "worker": "\033[35m", "beat": "\033[33m"}
RESET = "\033[0m"

_print_lock = threading.Lock()


def say(message):
    with _print_lock:
        print(message, flush=True)


def declare_queue(python, env):
    """Declare the default Celery queue through the app's own connection, in a short-lived process."""
    code = (
        "import django; django.setup()\n"
        "from kombu import Exchange, Queue\n"
        "from kombu.utils.url import maybe_sanitize_url\n"
        "from crm.celery import app\n"
        "name = app.conf.task_default_queue\n"
        "with app.connection_for_write() as conn:\n"
        "    conn.ensure_connection(max_retries=3)\n"
        "    Queue(name, Exchange(name, type='direct'), routing_key=name)(conn.default_channel).declare()\n"
        "print(f'Declared Celery queue {name!r} on {maybe_sanitize_url(app.conf.broker_url)}')\n"
    )
    result = subprocess.run([python, "-c", code], cwd=BASE_DIR, env=env)
    if result.returncode != 0:
        say("Could not declare the Celery queue: is the broker (REDIS_URL) reachable?")
        sys.exit(result.returncode)


class Child:
    def __init__(self, name, args, env, color):
        self.name = name
        self.prefix = f"{COLORS.get(name, '')}{name:>6} |{RESET} " if color else f"{name:>6} | "
        # A session of its own: Ctrl-C in the terminal reaches only the supervisor,
        # which then stops each child (and whatever the child started) in order.
        self.process = subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace", start_new_session=True,
        )
        self.reader = threading.Thread(target=self._forward, daemon=True)
        self.reader.start()

    def _forward(self):
        for line in self.process.stdout:
            say(self.prefix + line.rstrip("\n"))

    def signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default=os.environ.get("RUNSERVER_ADDR", "127.0.0.1:8000"),
                        help="address:port for runserver (default 127.0.0.1:8000)")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    options = parser.parse_args()

    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DEBUG", "true")
    env.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    declare_queue(python, env)

    stop = threading.Event()
    stop_reason = []

    def on_signal(signum, frame):
        if stop.is_set():  # a second Ctrl-C: do not wait for a graceful stop
            for child in children:
                child.signal_group(signal.SIGKILL)
        stop_reason.append(signal.Signals(signum).name)
        stop.set()

    children = []
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    commands = [
        ("web", [python, "manage.py", "runserver", options.addr]),
        ("worker", [python, "-m", "celery", "-A", "crm", "worker", "--loglevel", "info",
                    "--pool", "prefork", "--concurrency", str(options.concurrency)]),
        ("beat", [python, "-m", "celery", "-A", "crm", "beat", "--loglevel", "info",
                  "--schedule", str(BASE_DIR / "celerybeat-schedule")]),
    ]
    for name, args in commands:
        if stop.is_set():
            break
        children.append(Child(name, args, env, color))

    say(f"Serving http://{options.addr}/ with a Celery worker and beat. "
        "Sign in as admin, ana, ben or cara (password: demo). Ctrl-C stops all three.")

    exit_code = 0
    while not stop.is_set():
        for child in children:
            code = child.process.poll()
            if code is not None:
                say(f"{child.name} exited with code {code}; stopping the others.")
                exit_code = code if code > 0 else 128 - code if code < 0 else 1  # -9 -> 137, like a shell
                stop.set()
                break
        stop.wait(0.2)
    if stop_reason:
        say(f"{stop_reason[0]} received; stopping web, worker and beat.")

    # Graceful first: SIGTERM to each child (runserver's reloader takes its own
    # child down; the Celery worker finishes its current job), then SIGKILL to
    # whatever is left in each child's process group.
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {STOP_GRACE_SECONDS} s; killing it.")
    for child in children:
        child.signal_group(signal.SIGKILL)
        child.process.wait()
        child.reader.join(2)
    say("Stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
