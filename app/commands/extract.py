"""``semi-iin extract``: analyse videos into a feature cache for training and evaluation.

Writes into ``--out``: the FeatureCache (preset.json, clips/, analysis/),
``index.csv`` listing every clip, ``clips.csv`` with each clip's span, text
and missing modalities, and ``errors.csv`` with each video or clip that
failed. With ``--labels`` an MMSA label.csv gives each file its transcript,
sentiment label and split, which index.csv then carries, so the cache is a
labelled dataset for training. With ``--shard i/n`` a run handles every n-th video of the sorted
list, starting at index i, and writes its lists under ``shards/``. The run
that finds all n shard lists present merges them into ``index.csv``.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core_model.data.cache import FeatureCache
from core_model.data.dataset import SPLITS
from core_model.errors import ConfigError, DataError, SemiIINError
from core_model.features.analyzed_clip import AnalyzedClip
from core_model.features.pipeline import ClipError, analyze_video
from core_model.features.presets import PRESET_NAMES, get_preset
from core_model.media.transcripts import Cue, Transcript

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
TRANSCRIPT_EXTENSIONS = (".srt", ".vtt", ".eaf", ".txt")
CLIP_COLUMNS = ["key", "video", "clip", "start_s", "end_s", "label", "split", "text", "words",
                "alignment_confidence", "machine_draft", "missing", "warnings", "from_cache"]
ERROR_COLUMNS = ["video", "clip", "start_s", "end_s", "error_type", "message"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="analyse videos into a feature cache",
        description="Cut videos into clips, align their words and cache text, audio and face features.",
    )
    parser.add_argument("input", metavar="VIDEO_OR_FOLDER", type=Path,
                        help="a video file, or a folder searched recursively for video files")
    parser.add_argument("--preset", choices=PRESET_NAMES, default="lite", help="feature preset (default: lite)")
    parser.add_argument("--out", type=Path, required=True, help="output folder for the feature cache and reports")
    parser.add_argument("--transcripts", type=Path, default=None,
                        help="folder with a transcript per video named after it (NAME.srt, .vtt, .eaf or .txt); "
                             "default: look next to each video")

    parser.add_argument("--labels", type=Path, default=None, metavar="LABEL_CSV",
                        help="MMSA/M-SENA label.csv (video_id, clip_id, text, label, mode): use each row's text as "
                             "the transcript, analyse each file as one clip, and write label and split to index.csv. "
                             "A file matches a row as VIDEO_ID/CLIP_ID.mp4 (the MMSA Raw layout) or VIDEO_ID_CLIP_ID.mp4")
    parser.add_argument("--single-clip", action="store_true",
                        help="analyse each file as one clip instead of cutting it at transcript cues or pauses")

    parser.add_argument("--shard", type=_parse_shard, default=(0, 1), metavar="i/n",
                        help="process only videos i, i+n, i+2n, ... of the sorted list (0 <= i < n)")
    parser.add_argument("--face-fps", type=float, default=5.0, help="face crops sampled per second (default: 5)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per process during analysis (default: 1; run shards for more cores)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="flag a modality as missing when its encoder is unavailable, instead of stopping")

    parser.add_argument("--roberta", default=None,
                        help="paper preset: RoBERTa-large folder or Hugging Face id (default: roberta-large)")
    parser.add_argument("--hubert", default=None,
                        help="paper preset: HuBERT-large folder or Hugging Face id")
    parser.add_argument("--fabnet-folder", type=Path, default=None,
                        help="paper preset: folder with FAb-Net encoder weights (fabnet_encoder.safetensors)")
    parser.add_argument("--allow-download", action="store_true",
                        help="paper preset: let transformers download RoBERTa and HuBERT weights")

    parser.set_defaults(func=run)


def _parse_shard(text: str) -> tuple[int, int]:
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid shard {text!r}: use i/n, for example 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"invalid shard {text!r}: need n >= 1 and 0 <= i < n")
    return index, count


def find_videos(source: Path) -> list[Path]:
    """Return ``source`` itself, or the video files under the folder ``source`` in sorted order."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise ConfigError(f"input {source} does not exist; give a video file or a folder of videos")
    videos = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    if not videos:
        raise ConfigError(f"no video files ({', '.join(VIDEO_EXTENSIONS)}) found under {source}")
    return videos


def shard_videos(videos: list[Path], index: int, count: int) -> list[Path]:
    """Return the videos at positions index, index + count, ... of the sorted list."""
    return videos[index::count]


def find_transcript(video: Path, folder: Path | None) -> Path | None:
    """Return the transcript named after ``video`` in ``folder`` (default: the video's folder), if any."""
    folder = folder if folder is not None else video.parent
    for extension in TRANSCRIPT_EXTENSIONS:
        candidate = folder / f"{video.stem}{extension}"
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class LabelRow:
    """One row of an MMSA label.csv: the clip's transcript, sentiment label and split."""

    text: str
    label: float | None
    split: str | None


def read_label_csv(path: Path) -> dict[tuple[str, str], LabelRow]:
    """Read an MMSA label.csv into rows keyed by (video_id, clip_id)."""
    if not path.is_file():
        raise ConfigError(f"label file {path} not found")
    rows: dict[tuple[str, str], LabelRow] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"video_id", "clip_id", "text"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path} lacks the label.csv columns {sorted(missing)}; expected video_id, clip_id, text")
        for line_no, row in enumerate(reader, start=2):
            label_text = (row.get("label") or "").strip()
            try:
                label = float(label_text) if label_text else None
            except ValueError:
                raise DataError(f"{path}:{line_no}: label {label_text!r} is not a number") from None
            if label is not None and not math.isfinite(label):
                raise DataError(f"{path}:{line_no}: label {label_text!r} is not finite")
            split = (row.get("mode") or "").strip().lower() or None
            if split is not None and split not in SPLITS:
                log.warning("%s:%d: unknown split %r, stored as none", path, line_no, split)
                split = None
            rows[(row["video_id"].strip(), row["clip_id"].strip())] = LabelRow(" ".join(row["text"].split()), label,
                                                                             split)
    return rows


def match_label(video: Path, rows: dict[tuple[str, str], LabelRow]) -> LabelRow | None:
    """Return the row of ``video``: VIDEO_ID/CLIP_ID.ext first, then VIDEO_ID_CLIP_ID.ext."""
    row = rows.get((video.parent.name, video.stem))
    if row is None and "_" in video.stem:
        video_id, clip_id = video.stem.rsplit("_", 1)
        row = rows.get((video_id, clip_id))
    return row


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    options = {"allow_missing": args.allow_missing}
    if args.preset == "paper":
        options.update(roberta=args.roberta, hubert=args.hubert, fabnet_folder=args.fabnet_folder,
                       allow_download=args.allow_download)
    preset = get_preset(args.preset, **options)
    cache = FeatureCache(args.out, preset.name, preset.dims)
    shard_index, shard_count = args.shard
    labels = read_label_csv(args.labels) if args.labels is not None else None
    all_videos = find_videos(args.input)
    videos = shard_videos(all_videos, shard_index, shard_count)
    root = args.input if args.input.is_dir() else args.input.parent
    log.info("extracting %d of %d videos with preset %s into %s", len(videos), len(all_videos), preset.name, args.out)

    clip_rows: list[dict] = []
    error_rows: list[dict] = []
    with tqdm(total=len(videos), unit="video", desc="extract") as bar:
        for video in videos:
            name = video.relative_to(root).as_posix()
            bar.set_postfix_str(name)

            def progress(step: int, total: int, message: str) -> None:
                bar.set_postfix_str(f"{name}: {message}")

            clip_errors: list[ClipError] = []
            transcript = find_transcript(video, args.transcripts)
            label_row = None
            if labels is not None:
                label_row = match_label(video, labels)
                if label_row is None:
                    error_rows.append({"video": name, "clip": "", "start_s": "", "end_s": "", "error_type": "NoLabel",
                                       "message": f"no row of {args.labels} matches {name}; file skipped"})
                    bar.update(1)
                    continue
                transcript = Transcript([Cue(None, None, label_row.text)], args.labels, "label_csv")
            try:
                clips = analyze_video(video, preset, cache, transcript, progress=progress,
                                      face_fps=args.face_fps, errors=clip_errors, threads=args.threads,
                                      single_clip=args.single_clip or labels is not None)
            except SemiIINError as exc:
                log.error("%s failed: %s", video, exc)
                error_rows.append({"video": name, "clip": "", "start_s": "", "end_s": "",
                                   "error_type": type(exc).__name__, "message": str(exc)})
                bar.update(1)
                continue
            except Exception as exc:  # one broken video must not stop a corpus run
                log.exception("%s failed with an unexpected error", video)
                error_rows.append({"video": name, "clip": "", "start_s": "", "end_s": "",
                                   "error_type": type(exc).__name__, "message": str(exc)})
                bar.update(1)
                continue
            clip_rows.extend(_clip_row(name, clip, label_row) for clip in clips)
            error_rows.extend(_error_row(name, error) for error in clip_errors)
            bar.update(1)

    _write_reports(cache, clip_rows, error_rows, shard_index, shard_count)
    print(f"{len(clip_rows)} clips from {len(videos)} videos written to {args.out}; {len(error_rows)} errors")
    if error_rows:
        print(f"see {_report_path(args.out, 'errors', shard_index, shard_count)} for the failed videos and clips")
        return 1
    return 0


def _clip_row(video: str, clip: AnalyzedClip, label_row: LabelRow | None) -> dict:
    return {
        "label": "" if label_row is None or label_row.label is None else repr(label_row.label),
        "split": "" if label_row is None or label_row.split is None else label_row.split,
        "key": clip.feature_key,
        "video": video,
        "clip": clip.index,
        "start_s": f"{clip.start_s:.3f}",
        "end_s": f"{clip.end_s:.3f}",
        "text": clip.text,
        "words": len(clip.words),
        "alignment_confidence": "" if clip.alignment_confidence is None else f"{clip.alignment_confidence:.3f}",
        "machine_draft": int(clip.is_machine_draft),
        "missing": "; ".join(f"{m}: {reason}" for m, reason in sorted(clip.missing.items())),
        "warnings": " | ".join(clip.warnings),
        "from_cache": int(clip.from_cache),
    }


def _error_row(video: str, error: ClipError) -> dict:
    return {"video": video, "clip": error.index, "start_s": f"{error.start_s:.3f}", "end_s": f"{error.end_s:.3f}",
            "error_type": error.error_type, "message": error.message}


def _report_path(out: Path, kind: str, shard_index: int, shard_count: int) -> Path:
    if shard_count == 1:
        return Path(out) / f"{kind}.csv"
    return Path(out) / "shards" / f"{kind}-{shard_index}-of-{shard_count}.csv"


def _write_reports(cache: FeatureCache, clip_rows: list[dict], error_rows: list[dict],
                   shard_index: int, shard_count: int) -> None:
    _write_csv(_report_path(cache.root, "clips", shard_index, shard_count), CLIP_COLUMNS, clip_rows)
    _write_csv(_report_path(cache.root, "errors", shard_index, shard_count), ERROR_COLUMNS, error_rows)
    if shard_count == 1:
        cache.write_index(_index_rows(clip_rows))
        return
    shard_lists = [_report_path(cache.root, "clips", i, shard_count) for i in range(shard_count)]
    if not all(path.is_file() for path in shard_lists):
        log.info("index.csv not written yet: %d of %d shards finished",
                 sum(path.is_file() for path in shard_lists), shard_count)
        return
    merged = []
    for path in shard_lists:
        with open(path, newline="", encoding="utf-8") as handle:
            merged.extend(csv.DictReader(handle))
    merged.sort(key=lambda row: (row["video"], int(row["clip"])))
    _write_csv(Path(cache.root) / "clips.csv", CLIP_COLUMNS, merged)
    cache.write_index(_index_rows(merged))
    log.info("all %d shards finished; merged %d clips into index.csv", shard_count, len(merged))


def _index_rows(clip_rows: list[dict]) -> list[dict]:
    return [
        {
            "key": row["key"],
            "name": f"{row['video']}#{row['clip']}",
            "label": float(row["label"]) if row.get("label") else None,
            "split": row.get("split") or None,
        }
        for row in clip_rows
    ]


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
