"""Timeline at scale, attention view, evaluation and retrain dialogs, and the model panel."""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QPointF, Qt

from app.ui.attention import AttentionView, ClipAttention, real_token_columns
from app.ui.evaluate_dialog import EvaluateDialog
from app.ui.model_panel import ModelPanel
from app.ui.session import ProjectSession, confidence_band
from app.ui.timeline import Timeline
from conftest import build_project


def test_timeline_builds_with_25000_clips(qtbot, tmp_path):
    project = build_project(tmp_path / "project", tmp_path / "media", names=("0h-zjBukYpk_1",))
    video = project.videos()[0]
    count = 25_000
    starts = np.arange(count) * 3.0
    clip_ids = project.add_clips(video.id, [{"start_s": float(s), "end_s": float(s) + 2.0, "text": f"clip {i}"}
                                            for i, s in enumerate(starts)])
    rng = np.random.default_rng(0)
    intensity = rng.uniform(-3, 3, count)
    project.save_predictions("scale", [
        {"clip_id": c, "intensity": float(v), "probs": [1 / 7] * 7, "gate_val": 0.5, "gate_cls": 0.4,
         "confidence": float(rng.uniform(0.2, 1.0))} for c, v in zip(clip_ids, intensity)])
    session = ProjectSession(project)
    session.reload()
    data = session.timeline_data(video.id)
    assert len(data.start) == count

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(1200, 320)
    timeline.show()
    started = time.perf_counter()
    timeline.set_data(data)
    timeline.graphics.grab()
    build_s = time.perf_counter() - started
    items = timeline.intensity_plot.listDataItems() + timeline.gate_plot.listDataItems()
    assert len(items) <= 12, f"{len(items)} plot items for {count} clips; expected a few batched items"
    assert build_s < 10.0, f"building and drawing {count} clips took {build_s:.2f} s"
    timeline.show_range(30000.0, 30100.0)
    assert timeline.clip_at(30001.0) == clip_ids[10000]
    assert timeline.clip_at(30002.5) is None
    project.close()


def test_timeline_click_seeks_and_picks_clip(qtbot, window):
    timeline = window.timeline
    qtbot.waitUntil(lambda: window.player.duration_s > 2.0, timeout=10000)
    scene_point = timeline.intensity_plot.vb.mapViewToScene(QPointF(1.2, 0.0))
    view_point = timeline.graphics.mapFromScene(scene_point)
    with qtbot.waitSignal(timeline.seekRequested, timeout=3000) as seek:
        qtbot.mouseClick(timeline.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view_point)
    assert abs(seek.args[0] - 1.2) < 0.05
    assert abs(window.player.position_s - seek.args[0]) < 0.002
    assert window.transcript.current_word is not None


def test_confidence_band_from_class_spread():
    assert confidence_band([0, 0, 0, 1, 0, 0, 0], None) == 0.0
    assert abs(confidence_band([0.5, 0, 0, 0, 0, 0, 0.5], None) - 3.0) < 1e-9
    assert abs(confidence_band(None, 0.75) - 0.75) < 1e-9
    assert np.isnan(confidence_band(None, None))


def test_attention_view_drops_padding(qtbot):
    heads, tokens = 4, 2 + 6 + 5 + 3
    weights = np.random.default_rng(1).random((heads, tokens)).astype(np.float32)
    attention = ClipAttention(
        clip_id=7, weights={"intra": weights, "inter": weights[::-1]},
        token_spans={"audio": (2, 8), "text": (8, 13), "visual": (13, 16)},
        token_lengths={"audio": 4, "text": 3, "visual": 0}, words=("I", "MEAN", "IT"))
    columns, ranges = real_token_columns(attention)
    assert columns.tolist() == [2, 3, 4, 5, 8, 9, 10]
    assert ranges == [("audio", 0, 4), ("text", 4, 7), ("visual", 7, 7)]
    view = AttentionView()
    qtbot.addWidget(view)
    view.set_attention(attention)
    image = view.images["intra"].image
    assert image.shape == (7, heads + 1)
    assert np.allclose(image[:, :heads].T, weights[:, columns])
    assert np.allclose(image[:, heads], weights[:, columns].mean(axis=0))
    assert "4 audio frames, 3 words, 0 face frames" in view.caption.text()


def test_evaluate_dialog_shows_metrics_and_scatter(qtbot):
    result = {"version": "v1", "metrics": {"mae": 0.71, "corr": 0.42, "acc2_non0": 0.8, "acc7": 0.3},
              "pairs": [(1, 0.5, 1.0), (2, -1.0, -2.0), (3, 2.0, 2.6)], "count": 3, "skipped": 1}
    dialog = EvaluateDialog(result)
    qtbot.addWidget(dialog)
    assert dialog.table.item(0, 1).text() == "0.710"
    assert dialog.table.item(1, 1).text() == "0.420"
    x, y = dialog.scatter.getData()
    assert x.tolist() == [1.0, -2.0, 2.6]
    assert y.tolist() == [0.5, -1.0, 2.0]


def test_model_panel_lists_versions(qtbot, sample_project, tmp_path):
    folder = tmp_path / "project" / "models" / "v1"
    folder.mkdir(parents=True)
    sample_project.register_model_version("v1", folder, metrics={"valid": {"mae": 0.9, "corr": 0.5}},
                                          training_summary={"modalities": ["text", "audio"]}, activate=True)
    panel = ModelPanel()
    qtbot.addWidget(panel)
    panel.set_versions(sample_project.model_versions(), sample_project.active_model_version())
    assert panel.table.item(0, 0).text() == "v1 (active)"
    assert panel.table.item(0, 2).text() == "text, audio"
    assert panel.table.item(0, 3).text() == "0.900"
    panel.table.selectRow(0)
    with qtbot.waitSignal(panel.activateRequested) as request:
        panel.activate_button.click()
    assert request.args == ["v1"]


def test_settings_dialog_persists_values(qtbot, app_settings):
    from app.ui.dialogs import SettingsDialog

    assert app_settings.device == "auto"
    assert app_settings.allow_downloads is False
    dialog = SettingsDialog(app_settings)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("cpu")
    dialog.preset.setCurrentText("paper")
    dialog.models_folder.setText("/models")
    dialog.allow_downloads.setChecked(True)
    dialog._save()
    reread = type(app_settings)(type(app_settings.qsettings)(app_settings.qsettings.fileName(),
                                                             app_settings.qsettings.format()))
    assert reread.device == "cpu"
    assert reread.feature_preset == "paper"
    assert reread.models_folder == "/models"
    assert reread.allow_downloads is True


def test_exception_hook_logs_and_reports(qtbot, tmp_path, monkeypatch):
    from app.ui.errors import ExceptionHook, setup_file_logging

    monkeypatch.setenv("SEMI_IIN_DATA_DIR", str(tmp_path))
    log_path = setup_file_logging()
    hook = ExceptionHook(show_dialog=False)
    try:
        raise KeyError("missing-key-for-test")
    except KeyError as exc:
        hook(type(exc), exc, exc.__traceback__)
    assert hook.last_message == "'missing-key-for-test'"
    root = logging.getLogger()
    handlers = [h for h in root.handlers if getattr(h, "baseFilename", None) == str(log_path)]
    for handler in handlers:
        handler.flush()
        root.removeHandler(handler)
        handler.close()
    text = log_path.read_text(encoding="utf-8")
    assert "unexpected error" in text
    assert "test_exception_hook_logs_and_reports" in text
