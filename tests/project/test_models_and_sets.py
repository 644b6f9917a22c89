"""Model versions, atomic model folders, training sets and annotator agreement."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from app.project import InvalidValueError, ProjectError, atomic_directory
from app.project.errors import ClipNotFoundError

from .conftest import make_media


def test_atomic_directory_publishes_complete_folder(tmp_path):
    target = tmp_path / "models" / "v1"
    with atomic_directory(target) as temp:
        (temp / "weights.safetensors").write_bytes(b"\0" * 64)
        assert not target.exists()
    assert (target / "weights.safetensors").stat().st_size == 64
    with pytest.raises(FileExistsError):
        with atomic_directory(target):
            pass


def test_atomic_directory_failure_leaves_nothing(tmp_path):
    target = tmp_path / "v2"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as temp:
            (temp / "half.bin").write_bytes(b"x")
            raise RuntimeError("trainer crashed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_overwrite(tmp_path):
    target = tmp_path / "v"
    with atomic_directory(target) as temp:
        (temp / "old.txt").write_text("old")
    with atomic_directory(target, overwrite=True) as temp:
        (temp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["v"]


def test_register_model_versions(project):
    with atomic_directory(project.models_dir / "v1") as temp:
        (temp / "config.json").write_text("{}")
    first = project.register_model_version("v1", project.models_dir / "v1", {"hidden": 64}, {"mae": 0.8},
                                           None, {"labeled": 10}, activate=True)
    assert first.directory == project.models_dir / "v1"
    assert project.active_model_version() == "v1"
    with atomic_directory(project.models_dir / "v2") as temp:
        (temp / "config.json").write_text("{}")
    project.register_model_version("v2", project.models_dir / "v2", metrics={"mae": 0.7}, parent="v1")
    assert [(m.version, m.parent) for m in project.model_versions()] == [("v1", None), ("v2", "v1")]
    with pytest.raises(ProjectError, match="already registered"):
        project.register_model_version("v2", project.models_dir / "v2")
    with pytest.raises(InvalidValueError, match="parent"):
        project.register_model_version("v3", project.models_dir / "v2", parent="v9")
    with pytest.raises(FileNotFoundError):
        project.register_model_version("v4", project.models_dir / "absent")
    with pytest.raises(InvalidValueError):
        project.set_active_model_version("v9")


def build_labeled(project, tmp_path, videos: int = 10, clips_per_video: int = 4):
    ids_by_video = []
    for v in range(videos):
        video = project.add_video(make_media(tmp_path / "m", f"v{v}.mp4", seed=v))
        ids = project.add_clips(video.id, [{"start_s": float(i), "end_s": i + 0.5, "text": f"{v}-{i}"}
                                           for i in range(clips_per_video)])
        ids_by_video.append(ids)
    return ids_by_video


def test_training_sets_split_by_video(project, tmp_path):
    ids_by_video = build_labeled(project, tmp_path)
    video_of = {clip_id: v for v, ids in enumerate(ids_by_video) for clip_id in ids}
    for v, ids in enumerate(ids_by_video):
        for i, clip_id in enumerate(ids[:3]):
            project.set_label(clip_id, (v - 5) / 2 + i * 0.1, "alice")
    project.reject(ids_by_video[0][3], "alice")
    project.flag(ids_by_video[1][3], "alice")
    sets = project.training_sets(valid_fraction=0.2, seed=3)
    train_videos = {video_of[item.clip_id] for item in sets.labeled_train}
    valid_videos = {video_of[item.clip_id] for item in sets.labeled_valid}
    assert not train_videos & valid_videos
    assert len(sets.labeled_train) + len(sets.labeled_valid) == 30
    assert len(sets.labeled_valid) >= 6
    assert sorted(sets.unlabeled) == sorted(ids[3] for ids in ids_by_video[2:])
    item = next(i for i in sets.labeled_train + sets.labeled_valid if i.clip_id == ids_by_video[9][0])
    assert (item.intensity, item.bin) == (2.0, 5)
    again = project.training_sets(valid_fraction=0.2, seed=3)
    assert again == sets


def test_training_sets_with_base_corpus(project, tmp_path):
    build_labeled(project, tmp_path, videos=2, clips_per_video=1)
    for clip_id in (1, 2):
        project.set_label(clip_id, 1.0, "alice")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "index.csv").write_text(
        "key,name,label,split\nk1,a_1,0.5,train\nk2,a_2,-1.0,valid\nk3,a_3,2.0,test\nk4,a_4,,train\n",
        encoding="utf-8")
    sets = project.training_sets(base=cache, valid_fraction=0.5)
    base_train = [i.feature_key for i in sets.labeled_train if i.source == "base"]
    base_valid = [i.feature_key for i in sets.labeled_valid if i.source == "base"]
    assert (base_train, base_valid) == (["k1"], ["k2"])
    with pytest.raises(InvalidValueError):
        project.training_sets(valid_fraction=1.0)


def test_agreement_matches_krippendorff_and_kappa(project, tmp_path):
    ids = build_labeled(project, tmp_path, videos=1, clips_per_video=6)[0]
    alice = [2.0, -1.0, 0.0, 1.0, -2.8, 0.4]
    bob = [1.8, -1.2, 0.3, 1.0, -2.2, -0.4]
    for clip_id, a, b in zip(ids, alice, bob):
        project.set_label(clip_id, a, "alice")
        project.set_label(clip_id, b, "bob")
    project.set_label(ids[0], 3.0, "carol")
    report = project.agreement(["alice", "bob"])
    expected = krippendorff.alpha(reliability_data=np.array([alice, bob]), level_of_measurement="interval")
    assert report.alpha_interval == pytest.approx(expected)
    assert report.clip_count == 6
    # Bins: alice 5,2,3,4,0,3 and bob 5,2,3,4,1,3 agree on 5 of 6 clips.
    assert 0.7 < report.kappa_pairs["alice|bob"] < 1.0
    full = project.agreement()
    assert set(full.kappa_pairs) == {"alice|bob", "alice|carol", "bob|carol"}


def test_consensus_mean_zero_is_neutral(project, tmp_path):
    ids = build_labeled(project, tmp_path, videos=1, clips_per_video=2)[0]
    project.set_label(ids[0], 0.1, "alice")
    project.set_label(ids[0], -0.1, "bob")
    project.set_label(ids[1], 0.7, "alice")
    project.set_label(ids[1], 0.3, "bob")
    consensus = project.consensus_labels()
    assert consensus[ids[0]] == (0.0, 3)
    assert math.copysign(1, consensus[ids[0]][0]) == 1
    assert consensus[ids[1]] == (pytest.approx(0.5), 4)


def test_agreement_ignores_rejections(project, tmp_path):
    ids = build_labeled(project, tmp_path, videos=1, clips_per_video=2)[0]
    project.set_label(ids[0], 1.0, "alice")
    project.reject(ids[0], "bob")
    report = project.agreement()
    assert report.alpha_interval is None
    assert report.clip_count == 0
    with pytest.raises(ClipNotFoundError):
        project.reject(12345, "bob")
