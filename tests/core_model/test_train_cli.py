"""`semi-iin train`, `self-train` and `evaluate` end to end on a feature cache built here."""

import json

import pytest

from app.cli import main
from core_model.data.cache import FeatureCache
from synthetic_clips import DIMS, make_clips

TINY = '{"hidden": 16, "heads": 2, "ff": 32}'
FAST = ["--batch-size", "16", "--lr", "3e-3", "--device", "cpu", "--threads", "1", "--model-config", TINY]


def build_cache(root, splits, dims=DIMS, preset="synthetic", labeled=True):
    cache = FeatureCache(root, preset=preset, dims=dims)
    rows = []
    for split, (count, seed) in splits.items():
        for clip in make_clips(count, split, seed=seed, labeled=labeled, dims=dims):
            key = clip.name.replace("_", "-")
            cache.put(key, clip)
            rows.append({"key": key, "name": clip.name, "label": clip.label, "split": split})
    cache.write_index(rows)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cache = build_cache(root / "cache", {"train": (48, 1), "valid": (16, 2), "test": (16, 3)})
    out = root / "model"
    code = main(["train", "--data", str(cache), "--out", str(out), "--epochs", "2", *FAST])
    assert code == 0
    return root, cache, out


def test_train_writes_checkpoint(corpus):
    _, cache, out = corpus
    info = json.loads((out / "checkpoint.json").read_text())
    assert info["preset"] == "synthetic"
    assert info["dims"] == DIMS
    assert set(info["metrics"]) == {"valid", "test"}
    assert info["best_epoch"] in (1, 2)
    assert len(info["history"]) == 2
    assert set(info["data_hashes"]) == {"train", "valid", "test"}
    assert info["model_config"]["hidden"] == 16
    # Lengths come from the data: the longest synthetic clip has 16 audio frames.
    assert info["model_config"]["fixed_lengths"]["audio"] <= 16
    assert info["train_config"]["epochs"] == 2


def test_evaluate_prints_table_and_json(corpus, capsys):
    root, cache, out = corpus
    report_path = root / "report.json"
    assert main(["evaluate", "--model", str(out), "--data", str(cache), "--json", str(report_path),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[1]
    columns = ["MAE", "Corr", "Acc-2 has0", "Acc-2 non0", "F1 has0", "F1 non0", "Acc-7", "Acc-5"]
    positions = [header.index(c) for c in columns]
    assert positions == sorted(positions), header
    report = json.loads(report_path.read_text())
    assert report["clips"] == 16
    info = json.loads((out / "checkpoint.json").read_text())
    assert report["metrics"]["mae"] == pytest.approx(info["metrics"]["test"]["mae"], abs=1e-6)
    assert report["mmsa"]["MAE"] == round(report["metrics"]["mae"], 4)


def test_evaluate_refuses_other_dims(corpus, tmp_path, capsys):
    _, _, out = corpus
    other = build_cache(tmp_path / "other", {"test": (4, 5)}, dims=dict(DIMS, text=9))
    assert main(["evaluate", "--model", str(out), "--data", str(other), "--device", "cpu"]) == 1
    error = capsys.readouterr().err
    assert "text: checkpoint 8, data 9" in error


def test_evaluate_missing_split(corpus, tmp_path, capsys):
    _, _, out = corpus
    only_train = build_cache(tmp_path / "train_only", {"train": (4, 6)})
    assert main(["evaluate", "--model", str(out), "--data", str(only_train), "--device", "cpu"]) == 1
    assert "no labeled clips in split 'test'" in capsys.readouterr().err


def test_evaluate_unlabeled_cache_names_fix(corpus, tmp_path, capsys):
    _, _, out = corpus
    unlabeled = build_cache(tmp_path / "unlabeled", {"test": (4, 7)}, labeled=False)
    assert main(["evaluate", "--model", str(out), "--data", str(unlabeled), "--split", "all",
                 "--device", "cpu"]) == 1
    assert "--labels label.csv" in capsys.readouterr().err


def test_self_train_cli(corpus, tmp_path):
    _, cache, out = corpus
    pool = build_cache(tmp_path / "pool", {"train": (24, 7)}, labeled=False)
    student = tmp_path / "student"
    code = main(["self-train", "--labeled", str(cache), "--unlabeled", str(pool), "--k", "2", "--out", str(student),
                 "--init", str(out), "--epochs", "1", *FAST])
    assert code == 0
    info = json.loads((student / "checkpoint.json").read_text())
    assert 0 < len(info["pseudo_labels"]) <= 14
    assert "unlabeled" in info["data_hashes"]
    assert {p["name"] for p in info["pseudo_labels"]} <= {f"train_{i}" for i in range(24)}


def test_train_refuses_foreign_output(tmp_path, corpus, capsys):
    _, cache, _ = corpus
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    assert main(["train", "--data", str(cache), "--out", str(tmp_path / "busy"), "--epochs", "1", *FAST]) == 1
    assert "not a checkpoint folder" in capsys.readouterr().err
