"""Corpus loaders: MMSA pickles, the official layout, the feature cache and format detection."""

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest

from core_model.data.cache import FeatureCache
from core_model.data.loading import detect_format, load_data
from core_model.data.mmsa import load_mmsa
from core_model.data.official import load_official
from core_model.errors import DataError

RNG = np.random.default_rng(0)


def mmsa_split(size, prefix, text_len=6, audio_len=9, vision_len=5):
    text_bert = np.zeros((size, 3, text_len), dtype=np.int64)
    for i in range(size):
        text_bert[i, 1, : i + 2] = 1  # attention mask: i + 2 real words
    return {
        "id": np.array([f"{prefix}$_${i}" for i in range(size)], dtype=object),
        "text": RNG.normal(size=(size, text_len, 4)).astype(np.float32),
        "text_bert": text_bert,
        "audio": RNG.normal(size=(size, audio_len, 3)).astype(np.float32),
        "vision": RNG.normal(size=(size, vision_len, 2)).astype(np.float32),
        "audio_lengths": np.arange(size) + 3,
        "vision_lengths": np.array([0] + [vision_len] * (size - 1)),
        "regression_labels": np.linspace(-3, 3, size).astype(np.float32),
    }


def write_pickle(path, data, protocol=4):
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_mmsa_pickle_loads(tmp_path, protocol):
    data = {"train": mmsa_split(4, "tr"), "valid": mmsa_split(2, "va"), "test": mmsa_split(3, "te")}
    dataset = load_mmsa(write_pickle(tmp_path / "mosi.pkl", data, protocol))
    assert dataset.split_sizes() == {"train": 4, "valid": 2, "test": 3}
    assert dataset.dims == {"audio": 3, "text": 4, "visual": 2}
    assert dataset.preset == "mmsa"
    first = dataset.split("train")[0]
    assert first.name == "tr$_$0"
    assert first.text.shape == (2, 4)  # length from the text_bert attention mask
    assert first.audio.shape == (3, 3)
    assert first.present() == ("audio", "text")  # vision length 0 = absent
    np.testing.assert_array_equal(first.text, data["train"]["text"][0, :2])
    assert dataset.split("test")[-1].label == pytest.approx(3.0)


class Payload:
    """An object whose unpickling would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_mmsa_pickle_rejects_other_classes(tmp_path):
    marker = tmp_path / "marker"
    data = {"train": mmsa_split(2, "tr")}
    data["train"]["id"] = Payload(marker)
    path = write_pickle(tmp_path / "evil.pkl", data)
    with pytest.raises(DataError, match="not a numpy array type"):
        load_mmsa(path)
    assert not marker.exists()


def test_mmsa_text_bert_only_rejected(tmp_path):
    split = mmsa_split(2, "tr")
    del split["text"]
    with pytest.raises(DataError, match="token ids"):
        load_mmsa(write_pickle(tmp_path / "bert.pkl", {"train": split}))


def test_mmsa_nonfinite_counted_and_zeroed(tmp_path):
    split = mmsa_split(3, "tr")
    split["audio"][0, 0, 0] = -np.inf
    split["audio"][1, 1, :] = np.nan
    path = write_pickle(tmp_path / "nan.pkl", {"train": split})
    dataset = load_mmsa(path, nonfinite="zero")
    assert dataset.nonfinite_counts == {"audio": 4, "text": 0, "visual": 0}
    assert all(np.isfinite(s.audio).all() for s in dataset.samples)
    assert dataset.samples[0].audio[0, 0] == 0.0
    with pytest.raises(DataError, match=r"audio: 4 \(first in clip 'tr\$_\$0'\)"):
        load_mmsa(path, nonfinite="reject")


def make_official(root, names_by_split, dims=None, skip=()):
    dims = dims or {"audio": 3, "text": 4, "visual": 2}
    for folder in ("audio", "text", "visual"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for split, names in names_by_split.items():
        with open(root / f"{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "val", "emo"])
            for i, name in enumerate(names):
                writer.writerow([name, f"{i * 0.5 - 1:.1f}", "3"])
                for modality, dim in dims.items():
                    if (name, modality) in skip:
                        continue
                    frames = 2 + i
                    np.save(root / modality / f"{name}.npy", np.full((frames, dim), float(i), np.float32))
    return root


def test_official_layout_exact_names(tmp_path):
    root = make_official(tmp_path / "corpus", {"train": ["x_1", "x_10"], "dev": ["v_1"], "test": ["t_1"]})
    # Only x_10 has a visual file; prefix matching would give x_1 the x_10 file.
    (root / "visual" / "x_1.npy").unlink()
    dataset = load_official(root)
    by_name = {s.name: s for s in dataset.samples}
    assert by_name["x_1"].visual is None
    assert by_name["x_10"].visual.shape == (3, 2)
    assert by_name["v_1"].split == "valid"
    assert by_name["x_10"].label == pytest.approx(-0.5)
    assert by_name["x_1"].meta == {"emo": "3"}
    assert dataset.dims == {"audio": 3, "text": 4, "visual": 2}


def test_official_layout_refuses_pickled_npy(tmp_path):
    root = make_official(tmp_path / "corpus", {"train": ["a"]})
    np.save(root / "text" / "a.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="without pickle"):
        load_official(root)


def test_official_layout_dim_mismatch(tmp_path):
    root = make_official(tmp_path / "corpus", {"train": ["a", "b"]})
    np.save(root / "audio" / "b.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(DataError, match="audio features of size 5"):
        load_official(root)


def test_official_layout_bad_label(tmp_path):
    root = make_official(tmp_path / "corpus", {"train": ["a"]})
    (root / "train.csv").write_text("name,val,emo\na,high,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="train.csv:2: val 'high'"):
        load_official(root)


def test_feature_cache_and_detection(tmp_path):
    cache = FeatureCache(tmp_path / "cache", preset="lite", dims={"audio": 3, "text": 4, "visual": 2})
    rows = []
    for i in range(3):
        from core_model.data.batch import ClipFeatures

        clip = ClipFeatures(name=f"clip{i}", text=np.ones((2, 4), np.float32), audio=np.ones((5, 3), np.float32))
        cache.put(f"k{i}", clip)
        rows.append({"key": f"k{i}", "name": f"clip{i}", "label": i - 1.0, "split": "train"})
    cache.write_index(rows)
    assert detect_format(tmp_path / "cache") == "cache"
    dataset = load_data(tmp_path / "cache")
    assert dataset.preset == "lite"
    assert [s.label for s in dataset.samples] == [-1.0, 0.0, 1.0]
    assert dataset.samples[0].visual is None

    official = make_official(tmp_path / "official", {"train": ["a"]})
    assert detect_format(official) == "official"
    pkl = write_pickle(tmp_path / "data.pkl", {"train": mmsa_split(2, "tr")})
    assert detect_format(pkl) == "mmsa"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="cannot tell the format"):
        detect_format(tmp_path / "empty")
    with pytest.raises(DataError, match="not found"):
        detect_format(tmp_path / "missing")


def test_content_hash_changes_with_features(tmp_path):
    root = make_official(tmp_path / "corpus", {"train": ["a", "b"]})
    first = load_official(root).content_hash()
    assert first == load_official(root).content_hash()
    np.save(root / "audio" / "b.npy", np.zeros((3, 3), np.float32))
    assert load_official(root).content_hash() != first
