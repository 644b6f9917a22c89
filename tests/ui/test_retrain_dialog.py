"""The retrain dialog draws live curves from a worker's training events, cancels, and compares metrics.

The jobs here are small real functions, run in a worker process, that emit
events and results in the retrain service's format. Training the real model
needs the bundled default model, which the service tests cover.
"""

from __future__ import annotations

import pytest

from app.ui import retrain_dialog
from app.ui.job_runner import JobRunner
from app.ui.retrain_dialog import RetrainDialog


@pytest.fixture
def dialog(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(retrain_dialog, "RETRAIN_TARGET", "sample_jobs:train_like")
    monkeypatch.setattr(retrain_dialog, "PLAN_TARGET", "sample_jobs:plan_like")
    retrain = RetrainDialog(str(tmp_path), JobRunner())
    qtbot.addWidget(retrain)
    qtbot.waitUntil(lambda: not retrain.plan_runner.busy, timeout=30000)
    return retrain


def test_retrain_dialog_shows_plan_and_options(dialog):
    assert "Fine-tunes v1-test on 3 labeled clips (validation: 1)" in dialog.counts_label.text()
    assert "and 30 unlabeled clips" in dialog.counts_label.text()
    dialog.epochs_box.setValue(3)
    assert dialog.options().epochs == 3
    assert dialog.options().k == 40
    dialog.k_all.setChecked(True)
    assert dialog.options().k == "all"
    assert not dialog.k_box.isEnabled()


def test_retrain_dialog_curves_and_comparison(qtbot, dialog):
    dialog.epochs_box.setValue(3)
    with qtbot.waitSignal(dialog.runner.finished, timeout=30000):
        dialog.start()
    xs, ys = dialog.points["train total"]
    assert xs == [1.0, 2.0, 3.0]
    assert ys == [1.0, 0.5, 1.0 / 3.0]
    assert dialog.points["train mae"][1] == [1.0, 0.5, 1.0 / 3.0]
    assert set(dialog.curves) == {"train total", "train mse", "train mae", "train corr"}
    assert dialog.compare_table.item(0, 0).text() == "MAE"
    assert dialog.compare_table.item(0, 1).text() == "1.500"
    assert dialog.compare_table.item(0, 2).text() == "0.333"
    assert dialog.activate_button.isEnabled()
    assert "Trained v2-test from v1-test" in dialog.status_label.text()


def test_retrain_dialog_cancel(qtbot, dialog):
    dialog.epochs_box.setValue(1000)
    with qtbot.waitSignal(dialog.runner.event, timeout=30000):
        dialog.start()
    assert dialog.cancel_button.isEnabled()
    assert not dialog.start_button.isEnabled()
    with qtbot.waitSignal(dialog.runner.failed, timeout=10000) as failed:
        dialog.cancel_button.click()
    assert failed.args[0].cancelled
    assert dialog.status_label.text() == "Training cancelled."
    assert dialog.start_button.isEnabled()
    assert len(dialog.points["train total"][0]) < 1000
