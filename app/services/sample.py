"""The bundled sample project: four CMU-MOSI clips with their human labels.

Created on first use in the user's data folder (media copied in, transcripts
aligned, features extracted, the default model's predictions stored, the
label.csv labels imported as human labels) and reused afterwards.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from app.project import Project
from app.project.io_mmsa import import_label_csv, source_id
from app.services.paths import SAMPLE_MEDIA, user_data_dir

log = logging.getLogger(__name__)

SAMPLE_FOLDER_NAME = "sample-project"
LABEL_ANNOTATOR = "CMU-MOSI label.csv"
DONE_SETTING = "sample_ready"


def sample_project_folder() -> Path:
    return user_data_dir() / SAMPLE_FOLDER_NAME


def _copy_media(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(SAMPLE_MEDIA.iterdir()):
        if item.suffix in (".mp4", ".txt", ".csv", ".md") and not (target / item.name).exists():
            shutil.copy2(item, target / item.name)


def _mosi_source_id(video_name: str) -> str | None:
    """Return the MMSA source id of a file named ``<video_id>_<clip_id>`` (the MOSI layout)."""
    video, _, clip = Path(video_name).stem.rpartition("_")
    return source_id(video, clip) if video and clip.isdigit() else None


def _tag_single_clips(project) -> None:
    """Give each one-clip sample video the MOSI id of its file name, so label.csv rows match it."""
    for video in project.videos():
        clips = project.list_clips(video_id=video.id)
        sid = _mosi_source_id(video.name)
        if len(clips) != 1 or sid is None:
            continue
        clip = clips[0]
        project.add_clips(video.id, [{
            "start_s": clip.start_s, "end_s": clip.end_s, "text": clip.text, "words": clip.words,
            "alignment_confidence": clip.alignment_confidence, "missing": clip.missing,
            "is_machine_draft": clip.is_machine_draft, "feature_key": clip.feature_key,
            "split": clip.split, "source_id": sid, "meta": clip.meta,
        }])


def open_or_create_sample_project(
    folder: str | Path | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    cancel=None,
) -> dict[str, Any]:
    """Create (first run) or reuse the sample project; return ``{"folder", "created", "analysis"}``."""
    from app.services.analysis import analyze_project, open_project
    from app.services.models import ensure_active_model
    from app.services.prediction import predict_project

    folder = Path(folder) if folder is not None else sample_project_folder()
    created = not (folder / "project.sqlite").is_file()
    if created:
        log.info("creating the sample project in %s", folder)
        Project.create(folder).close()
    with open_project(folder) as project:
        if project.get_setting(DONE_SETTING):
            return {"folder": str(folder), "created": False, "analysis": None}
        media = folder / "media"
        _copy_media(media)
        if not project.videos():
            project.add_videos(sorted(media.glob("*.mp4")))
        ensure_active_model(project)
    analysis = analyze_project(folder, predict=False, progress=progress, cancel=cancel)
    if analysis.get("cancelled"):
        return {"folder": str(folder), "created": created, "analysis": analysis}
    with Project.open(folder) as project:
        _tag_single_clips(project)
        if not project.list_clips(status=["accepted", "corrected"]):
            import_label_csv(project, folder / "media" / "label.csv", annotator=LABEL_ANNOTATOR)
    analysis["prediction"] = predict_project(folder, cancel=cancel)
    with Project.open(folder) as project:
        project.set_setting(DONE_SETTING, True)
    return {"folder": str(folder), "created": created, "analysis": analysis}


def clip_table(folder: str | Path) -> list[dict[str, Any]]:
    """Return one row per clip: name, transcript, prediction, 7-class bin, gate balances, human label."""
    from app.project.bins import intensity_to_bin

    rows = []
    with Project.open(folder) as project:
        names = {video.id: video.name for video in project.videos()}
        for clip in project.list_clips():
            rows.append({
                "clip": names.get(clip.video_id, str(clip.video_id)),
                "text": clip.text,
                "aligned_words": sum(1 for w in clip.words if w.get("start_s") is not None),
                "words": len(clip.words),
                "predicted": clip.predicted_intensity,
                "bin": None if clip.predicted_intensity is None else intensity_to_bin(clip.predicted_intensity),
                "gate_val": clip.gate_val,
                "gate_cls": clip.gate_cls,
                "label": clip.label_intensity,
                "status": clip.status,
                "missing": list(clip.missing),
            })
    return rows


def format_clip_table(rows: list[dict[str, Any]]) -> str:
    """Format :func:`clip_table` rows as a fixed-width text table."""
    def number(value, digits=2):
        return "-" if value is None else f"{value:+.{digits}f}"

    header = f"{'clip':<20} {'pred':>6} {'bin':>4} {'gate v/c':>11} {'label':>6}  {'words':>7}  transcript"
    lines = [header, "-" * len(header)]
    for row in rows:
        gates = "-" if row["gate_val"] is None else f"{row['gate_val']:.2f}/{row['gate_cls']:.2f}"
        words = f"{row['aligned_words']}/{row['words']}"
        text = row["text"] if len(row["text"]) <= 60 else row["text"][:57] + "..."
        # The 7-class bin is shown as its centre, -3..+3, as in the app's clip table.
        centre = "-" if row["bin"] is None else f"{row['bin'] - 3:+d}"
        lines.append(f"{row['clip']:<20} {number(row['predicted']):>6} {centre:>4} "
                     f"{gates:>11} {number(row['label'], 1):>6}  {words:>7}  {text}")
    return "\n".join(lines)
