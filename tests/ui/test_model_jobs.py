"""Model jobs from the GUI with the real services and a tiny real model: attention, retrain, evaluate.

The project holds the three sample clips, a tiny Semi-IIN checkpoint as its
active model and generated feature arrays in the feature cache (test inputs
shaped like real features: one text row per word). Every job runs in a worker
process that imports torch: the attention test takes about 15 s and the
others, marked slow, 15-70 s each on a loaded two-core machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.ui.main_window import MainWindow
from conftest import build_project

PRESET = "ui-test"
DIMS = {"audio": 6, "text": 8, "visual": 4}
FRAMES = {"audio": 40, "visual": 6}


def add_tiny_model(project) -> str:
    """Store features for every clip, label two clips, and register a tiny model as the active version."""
    import torch

    from core_model.data.batch import ClipFeatures
    from core_model.data.cache import FeatureCache
    from core_model.model import SemiIIN, SemiIINConfig
    from core_model.training.checkpoint import save_checkpoint

    cache = FeatureCache(project.features_dir / PRESET, PRESET, DIMS)
    rng = np.random.default_rng(5)
    for row in project.list_clips():
        key = f"clip-{row.id}"
        cache.put(key, ClipFeatures(
            name=key,
            text=rng.normal(size=(len(row.words), DIMS["text"])).astype(np.float32),
            audio=rng.normal(size=(FRAMES["audio"], DIMS["audio"])).astype(np.float32),
            visual=rng.normal(size=(FRAMES["visual"], DIMS["visual"])).astype(np.float32)))
        project.add_clips(row.video_id, [{"start_s": row.start_s, "end_s": row.end_s, "text": row.text,
                                          "words": row.words, "feature_key": key}])
    rows = project.list_clips()
    project.set_label(rows[0].id, -1.0, "tester")
    project.set_label(rows[1].id, 2.0, "tester")

    torch.manual_seed(0)
    model = SemiIIN(SemiIINConfig.for_dims(DIMS, hidden=16, heads=2, ff=32))
    directory = project.models_dir / "tiny-v1"
    save_checkpoint(directory, model, {"preset": PRESET, "dims": DIMS, "modalities": ["audio", "text", "visual"]})
    project.register_model_version("tiny-v1", directory, config=model.config.to_dict(),
                                   training_summary={"modalities": ["audio", "text", "visual"]}, activate=True)
    return "tiny-v1"


@pytest.fixture
def model_window(qtbot, tmp_path, app_settings):
    project = build_project(tmp_path / "project", tmp_path / "media")
    add_tiny_model(project)
    window = MainWindow(settings=app_settings)
    qtbot.addWidget(window)
    window.set_project(project)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_attention_job_fills_view(qtbot, model_window):
    window = model_window
    clip = window.session.current_clip()
    with qtbot.waitSignal(window.runner.finished, timeout=120000):
        window.actions["attention"].trigger()
    attention = window.attention.attention
    assert attention is not None, window.last_error and window.last_error.informativeText()
    assert attention.clip_id == clip.id
    assert set(attention.weights) == {"intra", "inter"}
    assert attention.token_lengths["text"] == len(clip.words)
    image = window.attention.images["intra"].image
    real_tokens = FRAMES["visual"] + len(clip.words) + attention.token_lengths["audio"]
    assert image.shape == (real_tokens, 3)
    assert np.all(np.isfinite(image))


@pytest.mark.slow
def test_retrain_dialog_with_real_service(qtbot, model_window):
    window = model_window
    dialog = window.retrain_dialog()
    qtbot.waitUntil(lambda: not dialog.plan_runner.busy, timeout=120000)
    assert "Fine-tunes tiny-v1 on 1 labeled clips (validation: 1)" in dialog.counts_label.text()
    assert "1 unlabeled clips" in dialog.counts_label.text()
    # One validation clip makes the correlation undefined, so the new model's Corr cell stays empty.
    dialog.epochs_box.setValue(2)
    progress = []
    window.runner.progress.connect(lambda step, total, message: progress.append((step, total, message)))
    with qtbot.waitSignal(window.runner.ended, timeout=180000):
        dialog.start()
    assert dialog.result is not None, dialog.status_label.text()
    assert progress
    assert any("epoch" in message for _step, _total, message in progress)
    assert dialog.points, "no epoch events reached the curves"
    assert dialog.compare_table.rowCount() == 5
    assert dialog.compare_table.item(1, 0).text() == "Corr"
    assert dialog.compare_table.item(1, 2).text() == ""
    assert dialog.compare_table.item(0, 2).text() != ""
    new_version = dialog.result["version"]
    assert new_version in [v.version for v in window.session.project.model_versions()]

    with qtbot.waitSignal(dialog.activated, timeout=180000):
        dialog.activate_button.click()
    assert window.session.project.active_model_version() == new_version
    assert window.model_panel.table.item(1, 0).text() == f"{new_version} (active)"
    assert {row.model_version for row in window.session.rows()} == {new_version}


@pytest.mark.slow
def test_retrain_cancel_with_real_service(qtbot, model_window):
    window = model_window
    dialog = window.retrain_dialog()
    qtbot.waitUntil(lambda: not dialog.plan_runner.busy, timeout=120000)
    dialog.epochs_box.setValue(1000)
    with qtbot.waitSignal(window.runner.progress, timeout=120000):
        dialog.start()
    with qtbot.waitSignal(window.runner.failed, timeout=30000) as failed:
        dialog.cancel_button.click()
    assert failed.args[0].cancelled
    assert dialog.status_label.text() == "Training cancelled."
    assert [v.version for v in window.session.project.model_versions()] == ["tiny-v1"]


@pytest.mark.slow
def test_evaluate_job_shows_metrics(qtbot, model_window):
    window = model_window
    with qtbot.waitSignal(window.runner.finished, timeout=120000):
        window.actions["evaluate"].trigger()
    dialog = window.last_dialog
    assert dialog.windowTitle() == "Evaluation of tiny-v1"
    assert dialog.table.item(0, 0).text() == "MAE"
    x, _y = dialog.scatter.getData()
    assert sorted(x.tolist()) == [-1.0, 2.0]
