"""``semi-iin extract``: video discovery, sharding, reports and the merged index."""

import argparse
import csv
import shutil

import pytest

from app.commands.extract import (
    _parse_shard,
    find_transcript,
    find_videos,
    match_label,
    read_label_csv,
    shard_videos,
)
from core_model.data.cache import FeatureCache
from core_model.errors import ConfigError, DataError


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture()
def corpus(tmp_path, feature_data):
    """A folder with two real videos (one with a transcript beside it) and one broken file."""
    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(feature_data / "Sqr0AcuoNnk_12.mp4", folder / "a_mosi.mp4")
    shutil.copy(feature_data / "Sqr0AcuoNnk_12.txt", folder / "a_mosi.txt")
    shutil.copy(feature_data / "face_silent_audio_0-4s.mp4", folder / "sub" / "c_silent.mp4")
    (folder / "b_broken.mp4").write_bytes(b"this is not a video")
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_find_videos_sorted(corpus):
    names = [p.relative_to(corpus).as_posix() for p in find_videos(corpus)]
    assert names == ["a_mosi.mp4", "b_broken.mp4", "sub/c_silent.mp4"]


def test_find_videos_missing_input(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        find_videos(tmp_path / "absent")
    with pytest.raises(ConfigError, match="no video files"):
        find_videos(tmp_path)


def test_shards_partition_videos():
    videos = [f"v{i}" for i in range(7)]
    shards = [shard_videos(videos, i, 3) for i in range(3)]
    assert shards[0] == ["v0", "v3", "v6"]
    assert sorted(v for shard in shards for v in shard) == videos


@pytest.mark.parametrize("text", ["3/3", "-1/2", "1/0", "a/b", "2"])
def test_invalid_shard_rejected(text):
    with pytest.raises(argparse.ArgumentTypeError, match="invalid shard"):
        _parse_shard(text)


def test_transcript_found_beside_video(corpus, tmp_path):
    assert find_transcript(corpus / "a_mosi.mp4", None) == corpus / "a_mosi.txt"
    assert find_transcript(corpus / "sub" / "c_silent.mp4", None) is None
    other = tmp_path / "transcripts"
    other.mkdir()
    (other / "c_silent.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    assert find_transcript(corpus / "sub" / "c_silent.mp4", other) == other / "c_silent.srt"


def test_extract_two_shards_merge_index(corpus, tmp_path):
    from app.cli import main

    out = tmp_path / "out"
    common = [str(corpus), "--out", str(out), "--allow-missing", "--threads", "1"]
    first = main(["extract", *common, "--shard", "0/2"])
    assert not (out / "index.csv").exists()
    second = main(["extract", *common, "--shard", "1/2"])

    # Shard 0 gets a_mosi and c_silent, and shard 1 gets only the broken file.
    assert first == 0
    assert second == 1
    errors = _read_csv(out / "shards" / "errors-1-of-2.csv")
    assert [row["video"] for row in errors] == ["b_broken.mp4"]
    assert errors[0]["error_type"] == "NotMediaError"

    clips = _read_csv(out / "clips.csv")
    videos = [row["video"] for row in clips]
    assert videos[0] == "a_mosi.mp4"
    assert set(videos) == {"a_mosi.mp4", "sub/c_silent.mp4"}
    assert clips[0]["text"] == "AND HE IS ONE OF MY FAVORITE ACTORS EVER"
    assert all("silent audio" in row["missing"] for row in clips if row["video"] == "sub/c_silent.mp4")

    cache = FeatureCache(out)
    index = cache.read_index()
    assert [row["key"] for row in index] == [row["key"] for row in clips]
    assert set(cache.keys()) == {row["key"] for row in clips}


def test_read_label_csv(feature_data):
    rows = read_label_csv(feature_data / "label.csv")
    row = rows[("Sqr0AcuoNnk", "12")]
    assert row.text == "AND HE IS ONE OF MY FAVORITE ACTORS EVER"
    assert row.label == 2.0
    assert row.split == "train"


def test_label_matches_both_layouts(feature_data, tmp_path):
    rows = read_label_csv(feature_data / "label.csv")
    assert match_label(tmp_path / "Sqr0AcuoNnk" / "12.mp4", rows) is not None
    assert match_label(tmp_path / "Sqr0AcuoNnk_12.mp4", rows) is not None
    assert match_label(tmp_path / "Sqr0AcuoNnk_13.mp4", rows) is None


def test_bad_label_rejected(tmp_path):
    path = tmp_path / "label.csv"
    path.write_text("video_id,clip_id,text,label,mode\nv,1,hello,strong,train\n")
    with pytest.raises(DataError, match="label.csv:2: label 'strong' is not a number"):
        read_label_csv(path)


def test_extract_with_labels_writes_dataset(feature_data, tmp_path):
    from app.cli import main

    raw = tmp_path / "Raw" / "Sqr0AcuoNnk"
    raw.mkdir(parents=True)
    shutil.copy(feature_data / "Sqr0AcuoNnk_12.mp4", raw / "12.mp4")
    shutil.copy(feature_data / "face_silent_audio_0-4s.mp4", raw / "99.mp4")
    out = tmp_path / "out"
    code = main(["extract", str(tmp_path / "Raw"), "--out", str(out), "--labels", str(feature_data / "label.csv"),
                 "--allow-missing", "--threads", "1"])

    # 99.mp4 has no label.csv row, so it is reported and skipped.
    assert code == 1
    errors = _read_csv(out / "errors.csv")
    assert [(row["video"], row["error_type"]) for row in errors] == [("Sqr0AcuoNnk/99.mp4", "NoLabel")]
    samples = FeatureCache(out).load_dataset()
    assert len(samples) == 1
    assert samples[0].label == 2.0
    assert samples[0].split == "train"
    assert samples[0].text.shape == (9, 384)
