"""Test helpers shared by every app (pytest plugins live here, loaded from the root conftest.py)."""
