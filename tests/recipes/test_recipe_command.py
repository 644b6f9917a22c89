"""The ``semi-iin recipe`` command line: help, and a readable error for a missing data file."""

import pytest

from app.cli import main


def test_recipe_lists_three_recipes(capsys):
    with pytest.raises(SystemExit):
        main(["recipe", "--help"])
    output = capsys.readouterr().out
    for name in ("speech-encoder", "face-encoder", "default-model"):
        assert name in output


def test_recipe_missing_data_fails_cleanly(tmp_path, capsys):
    code = main(["recipe", "face-encoder", "--data", str(tmp_path / "absent.npz"), "--out", str(tmp_path / "out"),
                 "--no-progress"])
    assert code == 1
    error = capsys.readouterr().err
    assert "absent.npz" in error
    assert "not found" in error
    assert not (tmp_path / "out").exists()
