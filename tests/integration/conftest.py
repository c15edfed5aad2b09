"""Fixtures shared by integration tests: a process group stopped after each test."""

from __future__ import annotations

import pytest

from tests.integration.procs import ProcGroup


@pytest.fixture
def procs():
    group = ProcGroup()
    try:
        yield group
    finally:
        group.stop_all()
