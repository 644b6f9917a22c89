"""Training sets for self-training: human-labeled clips split by video, and the unlabeled rest."""

from __future__ import annotations

import csv
import logging
import math
import os
import random
from pathlib import Path

from app.project.bins import intensity_to_bin, validate_intensity
from app.project.errors import ImportFormatError, InvalidValueError
from app.project.records import LabeledItem, TrainingSets

log = logging.getLogger(__name__)


def build_training_sets(project, base: str | os.PathLike | None = None, valid_fraction: float = 0.2,
                        seed: int = 0) -> TrainingSets:
    """Split the project's labeled clips into train and valid by video; list the unlabeled clips.

    Labeled means accepted or corrected. Unlabeled means no human decision
    (status unlabeled or predicted); rejected and flagged clips are in neither.
    Whole videos go to valid, in a seeded random order, until at least
    ``valid_fraction`` of the labeled clips are there, so a video (speaker)
    never appears in both sets. ``base`` is an optional feature cache folder
    (or its index.csv) whose labeled rows are added by their own ``split``
    column: valid rows to valid, test rows nowhere, all others to train.
    """
    if not 0.0 <= valid_fraction < 1.0:
        raise InvalidValueError(f"valid_fraction {valid_fraction} is invalid; expected a value in [0, 1)")
    with project._read() as conn:
        labeled_rows = conn.execute(
            "SELECT c.id, c.video_id, c.feature_key, a.intensity FROM clips AS c "
            "JOIN annotations AS a ON a.clip_id = c.id "
            "WHERE a.status IN ('accepted', 'corrected') ORDER BY c.id"
        ).fetchall()
        unlabeled = [row[0] for row in conn.execute(
            "SELECT c.id FROM clips AS c LEFT JOIN annotations AS a ON a.clip_id = c.id "
            "WHERE a.clip_id IS NULL ORDER BY c.id"
        )]
    by_video: dict[int, list[LabeledItem]] = {}
    for clip_id, video_id, feature_key, intensity in labeled_rows:
        item = LabeledItem(clip_id=clip_id, feature_key=feature_key, intensity=intensity,
                           bin=intensity_to_bin(intensity), group=f"video:{video_id}")
        by_video.setdefault(video_id, []).append(item)
    videos = sorted(by_video)
    random.Random(seed).shuffle(videos)
    wanted = math.ceil(valid_fraction * len(labeled_rows)) if valid_fraction > 0 else 0
    train: list[LabeledItem] = []
    valid: list[LabeledItem] = []
    for video_id in videos:
        # NOTE: with few videos, valid can exceed valid_fraction because videos are not split.
        target = valid if len(valid) < wanted and len(videos) > 1 else train
        target.extend(by_video[video_id])
    if base is not None:
        base_train, base_valid = read_base_corpus(base)
        train.extend(base_train)
        valid.extend(base_valid)
    train.sort(key=lambda item: (item.source, item.clip_id or 0, item.feature_key or ""))
    valid.sort(key=lambda item: (item.source, item.clip_id or 0, item.feature_key or ""))
    log.info("training sets: %d train, %d valid, %d unlabeled", len(train), len(valid), len(unlabeled))
    return TrainingSets(labeled_train=train, labeled_valid=valid, unlabeled=unlabeled)


def read_base_corpus(base: str | os.PathLike) -> tuple[list[LabeledItem], list[LabeledItem]]:
    """Read labeled rows of a feature cache ``index.csv`` (columns key, name, label, split)."""
    path = Path(base)
    if path.is_dir():
        path = path / "index.csv"
    if not path.is_file():
        raise FileNotFoundError(f"base corpus index {path} not found; pass a feature cache folder with index.csv")
    train: list[LabeledItem] = []
    valid: list[LabeledItem] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"key", "label"} <= set(reader.fieldnames):
            raise ImportFormatError(f"{path} needs the columns key and label, found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if row.get("label") in (None, ""):
                continue
            value = validate_intensity(row["label"], subject=f"{path} line {line}: label")
            split = (row.get("split") or "train").strip().lower()
            if split == "test":
                continue
            name = row.get("name") or row["key"]
            item = LabeledItem(clip_id=None, feature_key=row["key"], intensity=value, bin=intensity_to_bin(value),
                               group=f"base:{name}", source="base")
            (valid if split in ("valid", "dev", "validation") else train).append(item)
    return train, valid
