"""The services on the real bundled sample: analysis, prediction, labels, retraining, evaluation."""

import pytest

from app.project import Project
from app.services import sample
from app.services.analysis import add_videos, analyze_project
from app.services.evaluation import evaluate_project
from app.services.models import DEFAULT_VERSION
from app.services.retrain import RetrainOptions, activate_version, retrain_plan, retrain_project


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample") / "project"
    events = []
    result = sample.open_or_create_sample_project(folder, progress=lambda *event: events.append(event))
    assert result["created"]
    assert events, "no progress was reported"
    return folder


def rows_by_label(folder):
    return {row["label"]: row for row in sample.clip_table(folder)}


def test_sample_has_four_predicted_clips(sample_folder):
    rows = sample.clip_table(sample_folder)
    assert len(rows) == 4
    for row in rows:
        assert row["text"], row
        assert row["predicted"] is not None, row
        assert 0.0 <= row["gate_val"] <= 1.0, row
        assert 0.0 <= row["gate_cls"] <= 1.0, row
        assert row["label"] is not None, row
        assert row["status"] == "corrected", row


def test_sample_words_are_aligned(sample_folder):
    for row in sample.clip_table(sample_folder):
        assert row["words"] == len(row["text"].split()), row
        assert row["aligned_words"] == row["words"], row


@pytest.mark.parametrize("label", [-2.8, 2.0, 2.6])
def test_default_model_sign_on_strong_clips(sample_folder, label):
    row = rows_by_label(sample_folder)[label]
    assert row["predicted"] * label > 0, f"clip {row['clip']} labelled {label} predicted {row['predicted']:+.2f}"


def test_sample_is_reused(sample_folder):
    again = sample.open_or_create_sample_project(sample_folder)
    assert again["created"] is False
    assert len(sample.clip_table(sample_folder)) == 4


def test_format_clip_table_lists_clips(sample_folder):
    text = sample.format_clip_table(sample.clip_table(sample_folder))
    assert "0h-zjBukYpk_2" in text
    assert text.count("\n") == 5


def test_retrain_registers_new_version(sample_folder):
    plan = retrain_plan(sample_folder)
    assert plan["train"] + plan["valid"] >= 4 or plan["valid_is_train"]
    events = []
    result = retrain_project(sample_folder, RetrainOptions(epochs=2, batch_size=4),
                             on_event=events.append)
    assert result["parent"] == DEFAULT_VERSION
    assert {"mae", "corr"} <= set(result["metrics"])
    assert any(e["kind"] == "epoch" for e in events)
    assert any("total" in e["losses"] for e in events if e["kind"] == "step")
    with Project.open(sample_folder) as project:
        versions = [v.version for v in project.model_versions()]
        assert result["version"] in versions
        assert project.active_model_version() == DEFAULT_VERSION

    activate_version(sample_folder, result["version"])
    with Project.open(sample_folder) as project:
        assert project.active_model_version() == result["version"]
        assert {c.model_version for c in project.list_clips()} == {result["version"]}


def test_evaluate_on_annotated_clips(sample_folder):
    result = evaluate_project(sample_folder)
    assert result["count"] == 4
    assert len(result["pairs"]) == 4
    assert result["metrics"]["mae"] >= 0


def test_broken_video_is_reported_not_raised(sample_folder, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"")
    result = add_videos(sample_folder, [broken])
    assert str(broken) in result["errors"]
    assert result["added"] == []


def test_analysis_reports_undecodable_video(tmp_path):
    folder = tmp_path / "project"
    Project.create(folder).close()
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    with Project.open(folder) as project:
        video = project.add_video(fake, info={"duration_s": 1.0})
    summary = analyze_project(folder, predict=False)
    assert video.name in summary["errors"], summary


def test_clip_attention_rows_are_distributions(sample_folder):
    from app.services.attention import clip_attention

    with Project.open(sample_folder) as project:
        clip = project.list_clips()[0]
    result = clip_attention(sample_folder, clip.id)
    assert set(result["weights"]) == {"intra", "inter"}
    for branch, weights in result["weights"].items():
        sums = weights.sum(axis=1)
        assert abs(sums - 1).max() < 1e-4, f"{branch} rows sum to {sums}"
    assert result["token_lengths"]["text"] == len(result["words"])


def test_paper_options_find_local_model_folders(tmp_path):
    from app.services.analysis import preset_options

    (tmp_path / "roberta-large").mkdir()
    (tmp_path / "fabnet").mkdir()
    options = preset_options("paper", tmp_path, allow_download=False)
    assert options["roberta"] == str(tmp_path / "roberta-large")
    assert options["fabnet_folder"] == str(tmp_path / "fabnet")
    assert "hubert" not in options
    assert options["allow_download"] is False
    assert preset_options("lite", tmp_path, allow_download=True) == {}
