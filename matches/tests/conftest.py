"""Fixtures of the matches app's tests; those every app shares are in the root conftest.py."""

import pytest


@pytest.fixture
def sleeps() -> list[float]:
    """The seconds an UpstreamClient built with `sleep=sleeps.append` was told to wait."""
    return []
