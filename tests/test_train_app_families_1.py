"""Half of the families through the training app (the other half: test_train_app_families_2.py)."""

import pytest
from app_family_runs import CASES, check_exports_run_with_tensorflow_alone, check_family_trains_and_exports


@pytest.mark.parametrize("family, dataset", CASES[0::2])
def test_every_family_trains_and_exports(family, dataset, tmp_path, capsys):
    check_family_trains_and_exports(family, dataset, tmp_path, capsys)


def test_every_export_runs_with_tensorflow_alone(tmp_path, capsys):
    """After the runs above (pytest keeps a file's order): their exports, with TensorFlow alone."""
    check_exports_run_with_tensorflow_alone(CASES[0::2], tmp_path, capsys)
