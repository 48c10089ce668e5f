import shutil
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A private copy of the worked example (inputs and expected outputs)."""
    target = tmp_path / "example"
    shutil.copytree(FIXTURES / "example", target)
    return target


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection
