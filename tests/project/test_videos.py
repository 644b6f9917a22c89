"""Videos: hashing, de-duplication, probing and relinking moved files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from app.project import HashMismatchError, Project, VideoNotFoundError

from .conftest import make_media


@dataclass
class FakeInfo:
    duration_s: float
    streams: list


def test_add_video_hashes_and_deduplicates(project, tmp_path):
    path = make_media(tmp_path / "m", "talk.mp4", size=3 * (1 << 20) + 5)
    video = project.add_video(path, {"duration": 12.5, "streams": [{"type": "video", "fps": 25}]})
    assert video.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (video.name, video.duration_s, video.size_bytes) == ("talk", 12.5, path.stat().st_size)
    assert video.streams == [{"type": "video", "fps": 25}]
    assert project.add_video(path).id == video.id
    assert len(project.videos()) == 1


def test_probe_is_called_lazily(tmp_path):
    calls = []

    def probe(path):
        calls.append(path)
        return FakeInfo(duration_s=3.0, streams=[{"type": "audio"}])

    with Project.create(tmp_path / "p", probe=probe, backup_on_open=False) as project:
        video = project.add_video(make_media(tmp_path, "a.mp4"))
        assert video.duration_s == 3.0
        assert len(calls) == 1
        project.add_video(make_media(tmp_path, "b.mp4"), {"duration_s": 1.0})
        assert len(calls) == 1


def test_add_videos_from_folder(project, tmp_path):
    folder = tmp_path / "m"
    make_media(folder, "one.mp4")
    make_media(folder / "sub", "two.MKV", seed=2)
    make_media(folder, "notes.txt", seed=3)
    videos = project.add_videos(folder)
    assert sorted(v.name for v in videos) == ["one", "two"]


def test_relink_checks_hash(project, tmp_path):
    original = make_media(tmp_path / "m", "clip.mp4")
    video = project.add_video(original)
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    original.rename(moved)
    assert not project.video(video.id).exists
    other = make_media(tmp_path, "other.mp4", seed=9)
    with pytest.raises(HashMismatchError, match="different content"):
        project.relink_video(video.id, other)
    assert project.relink_video(video.id, moved).path == moved.resolve()
    with pytest.raises(VideoNotFoundError):
        project.video(99)


def test_find_moved_relinks(project, tmp_path):
    originals = [make_media(tmp_path / "m", f"v{i}.mp4", seed=i) for i in range(3)]
    videos = [project.add_video(path) for path in originals]
    target = tmp_path / "new place"
    target.mkdir()
    for path in originals[:2]:
        path.rename(target / path.name)
    make_media(target, "unrelated.mp4", seed=50)
    found = project.find_moved(target)
    assert found == {videos[0].id: (target / "v0.mp4").resolve(), videos[1].id: (target / "v1.mp4").resolve()}
    assert all(project.video(v.id).exists for v in videos)
