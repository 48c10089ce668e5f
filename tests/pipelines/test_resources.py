from pathlib import Path

from pipelines.resources import RunSettings


def test_blank_folders_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RMA_DATA_DIR", "/srv/rma/data")
    monkeypatch.setenv("RMA_STATEMENTS_DIR", "/srv/rma/statements")
    settings = RunSettings(close=True)  # what launchpad config for close alone resolves to
    assert (settings.data_path, settings.statements_path) == (Path("/srv/rma/data"), Path("/srv/rma/statements"))


def test_defaults_and_explicit_folders(monkeypatch):
    monkeypatch.delenv("RMA_DATA_DIR", raising=False)
    monkeypatch.delenv("RMA_STATEMENTS_DIR", raising=False)
    assert RunSettings().data_path == Path("data") and RunSettings().statements_path == Path("data/statements")
    assert RunSettings(data_dir="in", statements_dir="out").statements_path == Path("out")
