"""The ``semi-iin project`` command line on a real project folder.

The parser holds only the project command: app.cli would import every other
command module (and torch with them), which costs seconds per test.
"""

from __future__ import annotations

import argparse
import csv

import pytest

from app.commands import project as project_command
from app.project import InvalidValueError, NotAProjectError

from .conftest import make_media


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="semi-iin")
    project_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_project_commands_round_trip(tmp_path, data_dir, capsys):
    folder = tmp_path / "proj"
    assert main(["project", "create", str(folder)]) == 0
    assert main(["project", "import-labels", str(folder), str(data_dir / "project" / "mosi_sample_label.csv")]) == 0
    assert "4 labels set" in capsys.readouterr().out
    make_media(tmp_path / "media", "talk.mp4")
    assert main(["project", "add-videos", str(folder), str(tmp_path / "media")]) == 0
    assert main(["project", "info", str(folder)]) == 0
    info = capsys.readouterr().out
    assert "corrected 4" in info
    assert "talk [ok] 0 clips" in info
    srt = data_dir / "project" / "noface_audiobook.srt"
    assert main(["project", "import-transcript", str(folder), "3", str(srt)]) == 0
    assert "37 clips" in capsys.readouterr().out
    out = tmp_path / "label.csv"
    assert main(["project", "export", str(folder), "--format", "label.csv", "--out", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert main(["project", "export", str(folder), "--format", "vtt", "--out", str(tmp_path / "t.vtt"),
                 "--video", "3"]) == 0
    assert (tmp_path / "t.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert main(["project", "agreement", str(folder)]) == 0
    assert "alpha (interval): n/a" in capsys.readouterr().out
    assert main(["project", "backup", str(folder)]) == 0


def test_project_command_errors(tmp_path):
    with pytest.raises(NotAProjectError, match="project.sqlite not found"):
        main(["project", "info", str(tmp_path)])
    main(["project", "create", str(tmp_path / "p")])
    with pytest.raises(InvalidValueError, match="--video"):
        main(["project", "export", str(tmp_path / "p"), "--format", "srt", "--out", str(tmp_path / "x.srt")])


def test_project_command_is_registered():
    from app import cli

    assert "project" in cli.COMMAND_MODULES
