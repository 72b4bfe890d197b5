"""Fixtures of the sandbox tests: a fresh namespace per test and the admin API."""

from __future__ import annotations

import uuid

import pytest

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import Admin


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Admin:
    return Admin(sandbox.url)


@pytest.fixture
def org() -> str:
    """A fresh organisation namespace, so tests never see each other's repos."""
    return f"org-{uuid.uuid4().hex[:10]}"
