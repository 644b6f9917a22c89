"""The main window on a small real project: playback, transcript, review keys, undo, broken video."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QMessageBox

from conftest import CLIP_NAMES


def current_row(window):
    return window.session.project.clip(window.session.current_clip_id)


def test_window_shows_project_clips(window):
    assert window.session.model.rowCount() == 3
    assert window.session.current_clip_id is not None
    assert len(window.timeline.data.start) == 1
    assert window.transcript.word_count() == 10
    assert window.transcript.segments[0].text.startswith("NOW THE TITLE")
    assert window.clip_table.view.model().rowCount() == 3


def test_clip_loads_and_plays(qtbot, window):
    player = window.player
    qtbot.waitUntil(lambda: player.duration_s > 2.0, timeout=10000)
    with qtbot.waitSignal(player.positionChanged, timeout=10000, check_params_cb=lambda s: s > 0.3):
        player.play()
    assert player.is_playing()
    player.pause()
    assert player.path.name == f"{CLIP_NAMES[0]}.mp4"


def test_highlighted_word_follows_position(qtbot, window):
    player = window.player
    qtbot.waitUntil(lambda: player.duration_s > 2.0, timeout=10000)
    for index in (0, 2, 5):
        word = window.transcript.word(index)
        player.seek(word.start_s + 0.02)
        assert window.transcript.current_word == index, f"at {word.start_s + 0.02:.2f} s"
        html = window.transcript.browser.toHtml()
        assert "#ffd54f" in html
    player.seek(0.0)
    assert window.transcript.current_word is None


def test_clicking_word_seeks_player(qtbot, window):
    player = window.player
    qtbot.waitUntil(lambda: player.duration_s > 2.0, timeout=10000)
    browser = window.transcript.browser
    target = window.transcript.word(2)
    assert target.text == "TITLE"
    position = browser.toPlainText().index("TITLE") + 2
    cursor = QTextCursor(browser.document())
    cursor.setPosition(position)
    point = browser.cursorRect(cursor).center()
    with qtbot.waitSignal(window.transcript.seekRequested, timeout=3000) as seek:
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert seek.args[0] == target.start_s
    assert abs(player.position_s - target.start_s) < 0.002


def test_review_keys_change_store_and_undo(qtbot, window):
    project = window.session.project
    first = window.session.current_clip_id
    qtbot.keyClick(window, Qt.Key.Key_7)
    assert project.clip(first).label_intensity == 3.0
    assert project.clip(first).status == "corrected"
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft)
    assert project.clip(first).label_intensity == 2.9
    qtbot.keyClick(window, Qt.Key.Key_J)
    second = window.session.current_clip_id
    assert second != first
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert project.clip(second).status == "accepted"
    assert project.clip(second).label_intensity == 1.8
    table_status = window.session.model.clip(window.session.model.row_of(second)).status
    assert table_status == "accepted"

    window._update_undo_texts()
    assert window.actions["undo"].text() == f"Undo Accept prediction of clip {second}"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.clip(second).status == "predicted"
    assert project.clip(second).label_intensity is None
    assert window.session.clip(second).status == "predicted"
    timeline_ids = window.timeline.data.clip_ids.tolist()
    assert second in timeline_ids
    assert window.timeline.data.status[timeline_ids.index(second)] == "predicted"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.clip(first).label_intensity == 3.0
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)
    assert project.clip(first).label_intensity == 2.9


def test_reject_flag_and_navigation_keys(qtbot, window):
    project = window.session.project
    first = window.session.current_clip_id
    qtbot.keyClick(window, Qt.Key.Key_X)
    assert project.clip(first).status == "rejected"
    qtbot.keyClick(window, Qt.Key.Key_U)
    second = window.session.current_clip_id
    assert project.clip(second).status == "predicted"
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert project.clip(second).status == "flagged"
    qtbot.keyClick(window, Qt.Key.Key_L)
    least = window.session.current_clip_id
    assert project.clip(least).status == "predicted"
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert window.session.current_clip_id != least


def test_shortcuts_shown_in_menus_and_help(window):
    assert window.actions["accept"].shortcut().toString() == "A"
    assert window.actions["undo"].shortcut().toString() == "Ctrl+Z"
    assert window.actions["label_-3"].shortcut().toString() == "1"
    dialog = window.show_shortcuts()
    texts = [dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())]
    assert "Accept prediction" in texts
    assert "Next least-confident clip" in texts
    dialog.close()


def test_bulk_accept_preview_and_apply(qtbot, window):
    dialog = window.bulk_accept_dialog()
    dialog.threshold.setValue(0.7)
    assert "2 unreviewed clip(s)" in dialog.preview.text()
    dialog.threshold.setValue(0.95)
    assert "0 unreviewed clip(s)" in dialog.preview.text()
    dialog.threshold.setValue(0.7)
    dialog.accept()
    statuses = window.session.project.status_counts()
    assert statuses["accepted"] == 2
    assert statuses["predicted"] == 1
    assert [row.status for row in window.session.rows()].count("accepted") == 2
    window.undo()
    assert window.session.project.status_counts()["accepted"] == 0
    assert [row.status for row in window.session.rows()].count("accepted") == 0


def test_broken_video_shows_error_and_app_stays_usable(qtbot, window, tmp_path):
    project = window.session.project
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((tmp_path / "media" / f"{CLIP_NAMES[1]}.mp4").read_bytes()[:3000])
    video = project.add_video(broken)
    (clip_id,) = project.add_clips(video.id, [{"start_s": 0.0, "end_s": 2.0, "text": "BROKEN FILE"}])
    window.session.reload()
    with qtbot.waitSignal(window.player.mediaFailed, timeout=10000):
        window.select_clip(clip_id)
    assert isinstance(window.last_error, QMessageBox)
    assert "broken.mp4" in window.last_error.informativeText()
    window.last_error.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)

    qtbot.keyClick(window, Qt.Key.Key_2)
    assert project.clip(clip_id).label_intensity == -2.0
    first = project.list_clips()[0].id
    window.select_clip(first)
    qtbot.waitUntil(lambda: window.player.duration_s > 2.0, timeout=10000)
    with qtbot.waitSignal(window.player.positionChanged, timeout=10000, check_params_cb=lambda s: s > 0.2):
        window.player.play()
    window.player.pause()


def test_frame_step_uses_real_timestamps(qtbot, window):
    player = window.player
    qtbot.waitUntil(lambda: player.duration_s > 2.0, timeout=10000)
    player.seek(0.5)
    player.step_frame(1)
    times = player.frame_times()
    assert len(times) == 73
    expected = min(t for t in times if t > 0.5005)
    assert abs(player.position_s - expected) < 0.0015
    player.step_frame(-1)
    assert player.position_s < expected


def test_edit_error_reaches_dialog(window):
    window.session.current_clip_id = None
    window.actions["accept"].trigger()
    assert "no clip is selected" in window.last_error.informativeText()


def test_export_then_import_label_csv(window, tmp_path):
    project = window.session.project
    first = window.session.current_clip_id
    window.session.set_label(-1.5)
    exported = tmp_path / "label.csv"
    window.export_file("label_csv", str(exported))
    assert exported.read_text(encoding="utf-8").count("\n") >= 2
    window.export_file("json", str(tmp_path / "clips.json"))
    assert (tmp_path / "clips.json").stat().st_size > 0
    window.session.undo()
    assert project.clip(first).label_intensity is None
    summary = window.import_file("label_csv", str(exported))
    assert summary.startswith("1 labels from 1 rows")
    labels = [row.label_intensity for row in project.list_clips() if row.label_intensity is not None]
    assert labels == [-1.5]
    assert window.session.model.rowCount() == len(project.list_clips())


def test_machine_draft_marked_and_edit_saved(qtbot, window):
    project = window.session.project
    row = project.list_clips()[1]
    project.add_clips(row.video_id, [{"start_s": row.start_s, "end_s": row.end_s, "text": row.text,
                                      "words": row.words, "is_machine_draft": True}])
    window.session.reload()
    window.select_clip(row.id)
    assert window.transcript.draft_label.text().startswith("Machine draft")
    assert "[draft]" in window.transcript.browser.toPlainText()
    window.session.edit_text(row.id, "AND SHE IS ONE OF MY FAVORITE ACTORS EVER")
    assert project.clip(row.id).text == "AND SHE IS ONE OF MY FAVORITE ACTORS EVER"
    assert "AND SHE IS" in window.transcript.browser.toPlainText()
    window.undo()
    assert project.clip(row.id).text == row.text
