"""The CLI's progress lines name every check step in plain words."""

from checks.defs import ASSET_CHECKS
from pipelines.progress import step_labels


def test_every_check_step_has_a_plain_label():
    labels = step_labels()
    for checks in ASSET_CHECKS:
        label = labels[checks.node_def.name]  # a step's key is its op's name
        assert label.startswith("check: ") and "_rows_" not in label and "_expectations" not in label
    assert labels["report_formats_rows_accounted_for"] == (
        "check: report_profiles and column_aliases rows accounted for"
    )
    assert labels["distributors_distributors_rows_accounted_for"] == "check: distributors rows accounted for"
