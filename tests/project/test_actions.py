"""User actions, undo and redo, and the history table."""

from __future__ import annotations

import random
import sqlite3

import pytest

from app.project import ClipNotFoundError, InvalidValueError, NoPredictionError, Project


def snapshot(project: Project) -> tuple:
    """Return every row that user actions may change, as plain tuples."""
    conn = sqlite3.connect(project.db_path)
    try:
        return (
            conn.execute("SELECT * FROM annotations ORDER BY clip_id").fetchall(),
            conn.execute("SELECT * FROM labels ORDER BY clip_id, annotator").fetchall(),
            conn.execute("SELECT id, text, start_s, end_s FROM clips ORDER BY id").fetchall(),
        )
    finally:
        conn.close()


def test_accept_uses_latest_prediction(filled):
    clip_id = filled.clip_ids[0]
    filled.accept(clip_id, "alice")
    row = filled.clip(clip_id)
    assert row.status == "accepted"
    assert row.label_intensity == pytest.approx(2.1)
    assert row.label_bin == 5
    assert row.annotator == "alice"
    assert row.label_model_version == "m1"
    assert row.label_confidence == pytest.approx(0.9)


def test_accept_without_prediction_raises(filled):
    with pytest.raises(NoPredictionError, match=f"clip {filled.clip_ids[4]}"):
        filled.accept(filled.clip_ids[4], "alice")


def test_set_label_validates_and_bins(filled):
    clip_id = filled.clip_ids[4]
    filled.set_label(clip_id, 0.0, "bob")
    assert (filled.clip(clip_id).status, filled.clip(clip_id).label_bin) == ("corrected", 3)
    filled.set_label(clip_id, -2.5, "bob")
    assert filled.clip(clip_id).label_bin == 1
    for bad in (3.5, -3.01, float("nan"), float("inf"), "x"):
        with pytest.raises(InvalidValueError):
            filled.set_label(clip_id, bad, "bob")
    with pytest.raises(InvalidValueError, match="annotator"):
        filled.set_label(clip_id, 1.0, " ")
    with pytest.raises(ClipNotFoundError, match="clip 999"):
        filled.set_label(999, 1.0, "bob")


def test_reject_flag_and_clear(filled):
    clip_id = filled.clip_ids[1]
    filled.set_label(clip_id, -2.0, "bob")
    filled.flag(clip_id, "carol", note="speaker overlaps")
    row = filled.clip(clip_id)
    assert (row.status, row.label_intensity, row.note) == ("flagged", -2.0, "speaker overlaps")
    filled.reject(clip_id, "bob")
    assert filled.clip(clip_id).status == "rejected"
    assert filled.clip(clip_id).label_intensity is None
    filled.clear_decision(clip_id, "bob")
    assert filled.clip(clip_id).status == "predicted"


def test_edit_text_and_bounds(filled):
    clip_id = filled.clip_ids[0]
    filled.edit_text(clip_id, "très bon film")
    filled.edit_bounds(clip_id, 0.25, 2.5)
    row = filled.clip(clip_id)
    assert (row.text, row.start_s, row.end_s) == ("très bon film", 0.25, 2.5)
    with pytest.raises(InvalidValueError, match="past the end"):
        filled.edit_bounds(clip_id, 1.0, 25.0)
    with pytest.raises(InvalidValueError, match="start_s < end_s"):
        filled.edit_bounds(clip_id, 2.0, 1.0)
    assert filled.undo() == "Move clip 1 to 0.25-2.50 s"
    assert filled.undo().startswith("Edit text")
    assert filled.clip(clip_id).text == "good film"


def test_bulk_accept_preview_and_undo(filled):
    assert filled.count_bulk_accept(0.5) == 3
    assert filled.count_bulk_accept(0.95) == 0
    filled.set_label(filled.clip_ids[0], 1.0, "bob")
    assert filled.count_bulk_accept(0.5) == 2
    assert filled.bulk_accept(0.5, "alice") == 2
    assert filled.count_clips(status="accepted") == 2
    assert filled.clip(filled.clip_ids[0]).status == "corrected"
    assert filled.history(limit=1)[0].change_count == 4
    filled.undo()
    assert filled.count_clips(status="accepted") == 0
    assert filled.count_clips(status="predicted") == 3
    assert filled.bulk_accept(0.99, "alice") == 0


def test_undo_redo_stack_semantics(filled):
    a, b = filled.clip_ids[0], filled.clip_ids[1]
    assert filled.undo() is None
    assert filled.redo() is None
    filled.accept(a, "alice")
    filled.set_label(b, -1.0, "alice")
    filled.undo()
    assert filled.can_redo()
    assert filled.redo_description() == f"Label clip {b} as -1.00"
    filled.reject(a, "alice")
    assert not filled.can_redo()
    states = [entry.state for entry in filled.history()]
    assert states == ["done", "discarded", "done"]


def test_history_survives_reopen(tmp_path, filled):
    filled.accept(filled.clip_ids[0], "alice")
    filled.set_label(filled.clip_ids[1], 2.0, "alice")
    filled.undo()
    before = snapshot(filled)
    folder = filled.folder
    filled.close()
    with Project.open(folder, backup_on_open=False) as reopened:
        assert snapshot(reopened) == before
        assert reopened.redo() == f"Label clip {reopened.list_clips()[1].id} as +2.00"
        assert reopened.undo() is not None
        assert reopened.undo() == f"Accept prediction of clip {reopened.list_clips()[0].id}"
        assert reopened.list_clips()[0].status == "predicted"


@pytest.mark.parametrize("seed", range(6))
def test_random_undo_redo_matches_timeline(filled, seed):
    rng = random.Random(seed)
    ids = filled.clip_ids
    annotators = ["alice", "bob"]
    timeline = [snapshot(filled)]
    position = 0
    for step in range(60):
        choice = rng.random()
        clip_id = rng.choice(ids)
        who = rng.choice(annotators)
        if choice < 0.25:
            position = max(0, position - 1) if filled.undo() is not None else position
            assert snapshot(filled) == timeline[position], f"seed {seed} step {step}: state after undo"
            continue
        if choice < 0.4:
            if filled.redo() is not None:
                position += 1
            assert snapshot(filled) == timeline[position], f"seed {seed} step {step}: state after redo"
            continue
        if choice < 0.55 and clip_id != ids[4]:
            filled.accept(clip_id, who)
        elif choice < 0.7:
            filled.set_label(clip_id, round(rng.uniform(-3, 3), 2), who)
        elif choice < 0.78:
            filled.reject(clip_id, who)
        elif choice < 0.84:
            filled.flag(clip_id, who, note=f"step {step}")
        elif choice < 0.9:
            filled.edit_text(clip_id, f"text {step} é")
        elif choice < 0.95:
            if filled.bulk_accept(rng.choice([0.3, 0.6, 0.8]), who) == 0:
                continue
        else:
            filled.edit_bounds(clip_id, 0.1 * step % 1.0, 1.5)
        timeline = timeline[: position + 1] + [snapshot(filled)]
        position += 1
    while filled.undo() is not None:
        position -= 1
    assert position == 0
    assert snapshot(filled) == timeline[0]
