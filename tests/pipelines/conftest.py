import pytest


@pytest.fixture
def example(closed_example_with_draft_cwd):
    """The worked example with 2026-Q2 closed and a draft of 2026-Q3."""
    return closed_example_with_draft_cwd
