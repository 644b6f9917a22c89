"""Import and export round trips: label.csv, SRT, WebVTT, ELAN and CSV/JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.project import ImportFormatError, InvalidValueError, Project
from app.project.io_eaf import export_eaf, import_eaf_transcript, read_eaf_tier
from app.project.io_mmsa import export_label_csv, import_label_csv
from app.project.io_subtitles import (
    export_srt,
    export_vtt,
    format_timestamp,
    import_subtitles,
    read_subtitles,
)
from app.project.io_tables import CSV_COLUMNS, export_csv, export_json

from .conftest import make_media

NON_ASCII_LABELS = (
    "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"
    "video_0001,0001,\"我们都是好朋友, 真的\",0.8,1.0,0.6,0.4,Positive,train\n"
    "video_0001,0002,Das war überhaupt nicht gut,-1.4,-1.2,-1.0,-0.8,Negative,valid\n"
    "video_0002,0001,\"He said \"\"meh\"\"\",0.0,,,,Neutral,test\n"
)


def read_rows(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_label_csv_sample_round_trip(project, data_dir, tmp_path):
    source = data_dir / "project" / "mosi_sample_label.csv"
    report = import_label_csv(project, source)
    assert (report.rows, report.created_clips, report.labels) == (4, 4, 4)
    assert project.count_clips(status="corrected") == 4
    assert project.count_clips(split="train") == 4
    out = tmp_path / "label.csv"
    assert export_label_csv(project, out) == 4
    original = {(r["video_id"], r["clip_id"]): r for r in read_rows(source)}
    exported = {(r["video_id"], r["clip_id"]): r for r in read_rows(out)}
    assert exported.keys() == original.keys()
    for key, row in original.items():
        for column in ("text", "annotation", "mode"):
            assert exported[key][column] == row[column], f"{key} {column}"
        assert float(exported[key]["label"]) == float(row["label"])


@pytest.mark.parametrize("bom, newline", [(False, "\n"), (True, "\r\n")])
def test_label_csv_non_ascii_bom_crlf(tmp_path, bom, newline):
    source = tmp_path / "in.csv"
    data = NON_ASCII_LABELS.replace("\n", newline).encode("utf-8")
    source.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    with Project.create(tmp_path / "a", backup_on_open=False) as first:
        import_label_csv(first, source)
        export_label_csv(first, tmp_path / "out.csv")
    with Project.create(tmp_path / "b", backup_on_open=False) as second:
        import_label_csv(second, tmp_path / "out.csv")
        rows = second.list_clips()
    assert [r.text for r in rows] == ["我们都是好朋友, 真的", "Das war überhaupt nicht gut", 'He said "meh"']
    assert [r.label_intensity for r in rows] == [0.8, -1.4, 0.0]
    assert [r.split for r in rows] == ["train", "valid", "test"]
    assert rows[0].meta == {"label_T": 1.0, "label_A": 0.6, "label_V": 0.4}
    exported = read_rows(tmp_path / "out.csv")
    assert [r["annotation"] for r in exported] == ["Positive", "Negative", "Neutral"]
    assert (tmp_path / "out.csv").read_bytes()[:3] != b"\xef\xbb\xbf"


def test_label_csv_reimport_matches_and_undoes(project, data_dir):
    source = data_dir / "project" / "mosi_sample_label.csv"
    import_label_csv(project, source)
    project.set_label(project.list_clips()[0].id, 3.0, "me")
    report = import_label_csv(project, source)
    assert (report.created_clips, report.matched_clips) == (0, 4)
    assert project.count_clips() == 4
    assert project.undo() == "Import 4 labels from mosi_sample_label.csv"
    assert project.list_clips()[0].label_intensity == 3.0


def test_label_csv_errors(project, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("video,clip,label\na,1,0.5\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="lacks the label.csv columns"):
        import_label_csv(project, bad)
    bad.write_text("video_id,clip_id,label\na,1,0.5\na,2,4.5\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="line 3"):
        import_label_csv(project, bad)
    bad.write_text("video_id,clip_id,label,mode\na,1,0.5,training\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="mode"):
        import_label_csv(project, bad)
    assert project.count_clips() == 0


def test_export_label_csv_positions_and_predicted(filled, tmp_path):
    filled.set_label(filled.clip_ids[1], -2.0, "bob")
    out = tmp_path / "labels.csv"
    assert export_label_csv(filled, out) == 1
    assert read_rows(out)[0]["clip_id"] == "2"
    assert read_rows(out)[0]["video_id"] == "first"
    assert export_label_csv(filled, out, include_predicted=True) == 4


def test_read_real_srt_and_vtt(data_dir):
    srt = read_subtitles(data_dir / "project" / "noface_audiobook.srt")
    assert len(srt) == 37
    assert srt[0].text == "this audiobook is in the public domain"
    assert (srt[0].start_s, srt[0].end_s) == (1.599, 3.919)
    vtt = read_subtitles(data_dir / "project" / "noface_audiobook.vtt")
    assert vtt[0].text == "this audiobook is in the public domain"
    assert vtt[0].start_s == pytest.approx(1.599)
    assert all("<" not in cue.text for cue in vtt)


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
@pytest.mark.parametrize("bom, crlf", [(False, False), (True, True)])
def test_subtitle_round_trip(project, tmp_path, suffix, bom, crlf):
    video = project.add_video(make_media(tmp_path, "v.mp4"))
    clips = [
        {"start_s": 0.5, "end_s": 2.25, "text": "Ça va très bien"},
        {"start_s": 3661.001, "end_s": 3662.5, "text": "日本語のテキスト"},
        {"start_s": 3700.0, "end_s": 3701.0, "text": "a --> b"},
    ]
    project.add_clips(video.id, clips)
    path = tmp_path / f"out{suffix}"
    if suffix == ".srt":
        export_srt(project, video.id, path, crlf=crlf)
    else:
        export_vtt(project, video.id, path)
    if bom:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    cues = read_subtitles(path)
    assert [(c.start_s, c.end_s) for c in cues] == [(c["start_s"], c["end_s"]) for c in clips]
    expected_last = "a --> b" if suffix == ".srt" else "a → b"
    assert [c.text for c in cues] == ["Ça va très bien", "日本語のテキスト", expected_last]
    other = project.add_video(make_media(tmp_path, "w.mp4", seed=3))
    ids = import_subtitles(project, other.id, path)
    assert len(ids) == 3
    assert format_timestamp(3661.001, ",") == "01:01:01,001"


def test_legacy_encoded_srt(tmp_path):
    path = tmp_path / "latin.srt"
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\nÀ bientôt, très cher ami, à la prochaine fois\r\n"
    path.write_bytes(text.encode("cp1252"))
    cues = read_subtitles(path)
    assert cues[0].text == "À bientôt, très cher ami, à la prochaine fois"


def test_subtitle_errors(tmp_path):
    path = tmp_path / "x.vtt"
    path.write_text("00:00:01.000 --> 00:00:02.000\nno header\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="WEBVTT"):
        read_subtitles(path)
    path = tmp_path / "x.srt"
    path.write_text("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="ends before"):
        read_subtitles(path)


def test_eaf_round_trip(filled, tmp_path):
    video_id = filled.clip(filled.clip_ids[0]).video_id
    filled.add_clips(video_id, [
        {"start_s": 0.0, "end_s": 2.0, "text": "good film",
         "words": [{"text": "good", "start_s": 0.1, "end_s": 0.6}, {"text": "film", "start_s": 0.7, "end_s": 1.4}]},
        {"start_s": 2.0, "end_s": 4.0, "text": "bad ending"},
        {"start_s": 4.0, "end_s": 7.5, "text": "café crème"},
    ])
    filled.set_label(filled.clip_ids[1], -2.0, "bob")
    path = tmp_path / "first.eaf"
    counts = export_eaf(filled, video_id, path)
    assert counts == {"clips": 3, "words": 2, "sentiment": 1, "prediction": 3}
    assert read_eaf_tier(path, "sentiment")[0].text == "-2.00 corrected"
    words = read_eaf_tier(path, "words")
    assert [(w.text, w.start_s, w.end_s) for w in words] == [("good", 0.1, 0.6), ("film", 0.7, 1.4)]
    other = filled.add_video(make_media(tmp_path, "copy.mp4", seed=7))
    ids = import_eaf_transcript(filled, other.id, path)
    rows = filled.list_clips(video_id=other.id)
    assert [(r.start_s, r.end_s, r.text) for r in rows] == [(0.0, 2.0, "good film"), (2.0, 4.0, "bad ending"),
                                                            (4.0, 7.5, "café crème")]
    assert len(ids) == 3
    with pytest.raises(ImportFormatError, match="no tier"):
        read_eaf_tier(path, "speaker A")


def test_eaf_damaged_file(tmp_path):
    path = tmp_path / "broken.eaf"
    path.write_text("<ANNOTATION_DOCUMENT><unclosed", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="not a readable ELAN file"):
        read_eaf_tier(path)


def test_csv_and_json_exports_carry_provenance(filled, tmp_path):
    filled.accept(filled.clip_ids[0], "alice")
    filled.set_label(filled.clip_ids[4], 0.0, "bob")
    assert export_csv(filled, tmp_path / "clips.csv") == 5
    rows = read_rows(tmp_path / "clips.csv")
    assert tuple(rows[0]) == CSV_COLUMNS
    assert (rows[0]["status"], rows[0]["annotator"], rows[0]["label_model_version"]) == ("accepted", "alice", "m1")
    assert json.loads(rows[0]["probs"])[4] == 0.9
    assert rows[2]["text"] == "café crème"
    assert export_json(filled, tmp_path / "clips.json") == 5
    document = json.loads((tmp_path / "clips.json").read_text(encoding="utf-8"))
    assert document["format"] == "semi-iin-project-export"
    assert document["annotator_labels"]["bob"] == {str(filled.clip_ids[4]): 0.0}
    clip = next(c for c in document["clips"] if c["clip_id"] == filled.clip_ids[4])
    assert (clip["status"], clip["label_bin"], clip["predicted_intensity"]) == ("corrected", 3, None)
    assert not list(tmp_path.glob(".*.tmp"))
