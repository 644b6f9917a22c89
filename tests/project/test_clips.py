"""Adding, replacing and listing clips; saving predictions."""

from __future__ import annotations

import pytest

from app.project import ClipNotFoundError, InvalidValueError

from .conftest import make_media, prediction


def test_list_sorted_by_confidence_pages(filled):
    ascending = filled.list_clips(order_by="confidence")
    assert [row.confidence for row in ascending] == [0.3, 0.55, 0.75, 0.9, None]
    descending = filled.list_clips(order_by="confidence", descending=True)
    assert [row.confidence for row in descending] == [0.9, 0.75, 0.55, 0.3, None]
    page = filled.list_clips(order_by="confidence", limit=2, offset=1)
    assert [row.confidence for row in page] == [0.55, 0.75]


def test_list_filters(filled):
    filled.accept(filled.clip_ids[0], "alice")
    assert [r.id for r in filled.list_clips(status="accepted")] == [filled.clip_ids[0]]
    assert filled.count_clips(status=["predicted", "unlabeled"]) == 4
    assert filled.count_clips(status="unlabeled") == 1
    assert filled.count_clips(video_id=filled.list_clips()[3].video_id) == 2
    with pytest.raises(InvalidValueError, match="order_by"):
        filled.list_clips(order_by="size; DROP TABLE clips")
    with pytest.raises(InvalidValueError, match="status"):
        filled.list_clips(status="done")
    counts = filled.status_counts()
    assert counts["accepted"] == 1
    assert counts["predicted"] == 3
    assert counts["unlabeled"] == 1


def test_clip_row_fields(filled):
    row = filled.clip(filled.clip_ids[2])
    assert row.text == "café crème"
    assert row.duration_s == pytest.approx(3.5)
    assert row.probs == pytest.approx([0, 0, 0, 0.25, 0.75, 0, 0])
    assert (row.gate_val, row.gate_cls, row.model_version) == (0.4, 0.6, "m1")
    with pytest.raises(ClipNotFoundError, match="clip 42"):
        filled.clip(42)


def test_newer_prediction_becomes_latest(filled):
    clip_id = filled.clip_ids[0]
    filled.save_predictions("m2", [prediction(clip_id, -0.5, 0.42)])
    row = filled.clip(clip_id)
    assert (row.model_version, row.predicted_intensity, row.confidence) == ("m2", -0.5, 0.42)
    assert [p["model_version"] for p in filled.predictions(clip_id)] == ["m1", "m2"]


def test_save_predictions_validates(filled):
    clip_id = filled.clip_ids[0]
    with pytest.raises(InvalidValueError, match="7 class probabilities"):
        filled.save_predictions("m2", [{"clip_id": clip_id, "intensity": 1.0, "probs": [1.0]}])
    with pytest.raises(InvalidValueError, match="sum to 1"):
        filled.save_predictions("m2", [{"clip_id": clip_id, "intensity": 1.0, "probs": [0.5] * 7}])
    with pytest.raises(InvalidValueError, match="not finite"):
        filled.save_predictions("m2", [{**prediction(clip_id, 1.0, 0.5), "intensity": float("nan")}])
    with pytest.raises(ClipNotFoundError, match="777"):
        filled.save_predictions("m2", [prediction(777, 1.0, 0.5)])
    assert filled.clip(clip_id).model_version == "m1"


def test_confidence_defaults_to_top_probability(filled):
    clip_id = filled.clip_ids[4]
    filled.save_predictions("m2", [{"clip_id": clip_id, "intensity": 1.0,
                                    "probs": [0.1, 0.1, 0.1, 0.1, 0.4, 0.1, 0.1]}])
    assert filled.clip(clip_id).confidence == pytest.approx(0.4)


def test_replace_keeps_unchanged_clips(filled):
    first, second = filled.clip_ids[0], filled.clip_ids[1]
    filled.accept(first, "alice")
    filled.set_label(second, -2.0, "alice")
    video_id = filled.clip(first).video_id
    new_ids = filled.add_clips(video_id, [
        {"start_s": 0.0, "end_s": 2.0, "text": "good film", "feature_key": "new-key"},
        {"start_s": 2.0, "end_s": 4.5, "text": "bad ending, really"},
    ])
    assert new_ids[0] == first
    assert new_ids[1] not in filled.clip_ids
    assert filled.clip(first).status == "accepted"
    assert filled.clip(first).feature_key == "new-key"
    assert filled.count_clips(video_id=video_id) == 2
    with pytest.raises(ClipNotFoundError):
        filled.clip(second)
    # Undoing the label of a clip removed by re-analysis skips that change.
    assert filled.undo() is not None
    assert filled.undo() is not None
    assert filled.clip(first).status == "predicted"


def test_add_clips_rejects_bad_input(project, tmp_path):
    video = project.add_video(make_media(tmp_path, "v.mp4"))
    with pytest.raises(InvalidValueError, match="unknown keys"):
        project.add_clips(video.id, [{"start_s": 0, "end_s": 1, "txt": "typo"}])
    with pytest.raises(InvalidValueError, match="start_s < end_s"):
        project.add_clips(video.id, [{"start_s": 2, "end_s": 1}])
    with pytest.raises(InvalidValueError, match="missing modalities"):
        project.add_clips(video.id, [{"start_s": 0, "end_s": 1, "missing": ["smell"]}])
    with pytest.raises(InvalidValueError, match="split"):
        project.add_clips(video.id, [{"start_s": 0, "end_s": 1, "split": "training"}])
    assert project.count_clips() == 0


def test_words_and_flags_round_trip(project, tmp_path):
    video = project.add_video(make_media(tmp_path, "v.mp4"))
    words = [{"text": "naïve", "start_s": 0.1, "end_s": 0.5, "confidence": 0.8}]
    [clip_id] = project.add_clips(video.id, [{
        "start_s": 0.0, "end_s": 1.0, "text": "naïve", "words": words, "missing": ["visual", "audio"],
        "alignment_confidence": 0.7, "is_machine_draft": True, "split": "valid", "meta": {"speaker": "A"},
    }])
    row = project.clip(clip_id)
    assert row.words == words
    assert row.missing == ["audio", "visual"]
    assert (row.alignment_confidence, row.is_machine_draft, row.split, row.meta) == (0.7, True, "valid",
                                                                                     {"speaker": "A"})


def test_replace_keeps_split_source_and_meta(project, tmp_path):
    video = project.add_video(make_media(tmp_path, "v.mp4"))
    [clip_id] = project.add_clips(video.id, [{"start_s": 0.0, "end_s": 1.0, "text": "x", "split": "valid",
                                              "source_id": "v$_$1", "meta": {"label_T": 1.0}}])
    [again] = project.add_clips(video.id, [{"start_s": 0.0, "end_s": 1.0, "text": "x", "feature_key": "k"}])
    row = project.clip(again)
    assert again == clip_id
    assert row.split == "valid"
    assert row.source_id == "v$_$1"
    assert row.meta == {"label_T": 1.0}
    assert row.feature_key == "k"
