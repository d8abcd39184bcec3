"""Run callables at the same moment, each in its own thread with its own database connection.

For race tests: on PostgreSQL the row locks, advisory locks and constraints decide who wins;
on SQLite (a file test database, IMMEDIATE transactions) the writers serialise instead.
Import it into a test module: `from crm.testing.concurrency import run_at_once`.
"""

import threading

from django.db import connection


def run_at_once(*calls, timeout=60):
    """Start one thread per call, release them together, wait for all; return one outcome per call.

    An outcome is `("ok", value)` or `("error", exception)`, in the order of `calls`, so the test
    asserts what each call returned or raised. Each thread closes its own database connection, so
    none is left open for the test database teardown. `timeout` is how long to wait for each
    thread; a thread still running after it fails the test.
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results
