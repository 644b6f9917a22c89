"""Per-clip analysis results, their cache key and the media file hash.

A clip's features live in the FeatureCache under ``feature_key``. The rest of
the analysis (span, words with times, alignment confidence, missing-modality
reasons, warnings) is stored beside them as ``analysis/KEY.json`` in the same
cache folder. A second run over an unchanged video reads both back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from core_model.errors import DataError
from core_model.media.transcripts import Word

log = logging.getLogger(__name__)

RECORD_FOLDER = "analysis"
RECORD_VERSION = 1
_HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class AnalyzedClip:
    """One analysed clip of a video; times in seconds from the media start.

    ``missing`` maps each absent modality to the reason, for example
    ``{"visual": "no face found"}``. ``alignment_confidence`` is in [0, 1], or
    None when the words were not force-aligned (times given by the transcript,
    or no words at all).
    """

    index: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]
    alignment_confidence: float | None
    is_machine_draft: bool
    missing: Mapping[str, str]
    feature_key: str
    warnings: tuple[str, ...] = ()
    from_cache: bool = field(default=False, compare=False)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return {
            "version": RECORD_VERSION,
            "index": self.index,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "text": self.text,
            "words": [[w.text, w.start_s, w.end_s, w.confidence] for w in self.words],
            "alignment_confidence": self.alignment_confidence,
            "is_machine_draft": self.is_machine_draft,
            "missing": dict(self.missing),
            "feature_key": self.feature_key,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, values: Mapping, *, from_cache: bool = False) -> "AnalyzedClip":
        if values.get("version") != RECORD_VERSION:
            raise DataError(f"analysis record version {values.get('version')!r} is not {RECORD_VERSION}")
        return cls(
            index=int(values["index"]),
            start_s=float(values["start_s"]),
            end_s=float(values["end_s"]),
            text=str(values["text"]),
            words=tuple(Word(str(t), float(s), float(e), None if c is None else float(c))
                        for t, s, e, c in values["words"]),
            alignment_confidence=None if values["alignment_confidence"] is None
            else float(values["alignment_confidence"]),
            is_machine_draft=bool(values["is_machine_draft"]),
            missing=dict(values["missing"]),
            feature_key=str(values["feature_key"]),
            warnings=tuple(values["warnings"]),
            from_cache=from_cache,
        )


def hash_media_file(path: str | os.PathLike, chunk_bytes: int = _HASH_CHUNK_BYTES) -> str:
    """Return the SHA-256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def clip_feature_key(media_hash: str, start_s: float, end_s: float, identifiers: Mapping[str, str],
                     words_source: str) -> str:
    """Return the cache key of one clip: a SHA-256 over everything its features depend on.

    ``words_source`` is the transcript text of the clip (or a marker such as
    ``"machine-draft"``), so a corrected transcript gives a new key. Times are
    rounded to milliseconds.
    """
    payload = json.dumps(
        {
            "media": media_hash,
            "span": [round(float(start_s), 3), round(float(end_s), 3)],
            "encoders": dict(sorted(identifiers.items())),
            "words": words_source,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def record_path(cache_root: Path, key: str) -> Path:
    return Path(cache_root) / RECORD_FOLDER / f"{key}.json"


def read_record(cache_root: Path, key: str) -> AnalyzedClip | None:
    """Return the stored analysis of ``key``, or None when absent or unreadable."""
    path = record_path(cache_root, key)
    if not path.is_file():
        return None
    try:
        return AnalyzedClip.from_dict(json.loads(path.read_text(encoding="utf-8")), from_cache=True)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable analysis record %s: %s", path, exc)
        return None


def write_record(cache_root: Path, clip: AnalyzedClip) -> Path:
    """Write ``clip`` to ``analysis/KEY.json`` through a temporary file and a rename."""
    path = record_path(cache_root, clip.feature_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(clip.to_dict(), handle, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
