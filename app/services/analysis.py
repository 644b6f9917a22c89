"""Analyse a project's videos: clips, aligned words and cached features, then predictions.

Runs in a worker process (see app.services.jobs); ``progress(step, total,
message)`` and ``cancel.is_set()`` follow that protocol.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable

from app.project import Project
from core_model.errors import SemiIINError

log = logging.getLogger(__name__)

PRESET_SETTING = "feature_preset"
DEFAULT_PRESET = "lite"
# Transcript files looked up beside a video with the same stem, in this order.
TRANSCRIPT_SUFFIXES = (".srt", ".vtt", ".eaf", ".txt")
# One torch thread in the worker leaves a core to the GUI; the small lite
# encoders gain little from a second thread.
WORKER_THREADS = 1


def media_probe(path: Path):
    """Probe a media file for the project store (duration and streams)."""
    from core_model.media.decode import probe

    return probe(path)


def open_project(folder: str | Path) -> Project:
    """Open a project whose new videos are probed with PyAV when added."""
    return Project.open(folder, probe=media_probe)


def add_videos(project_folder: str | Path, paths, *, progress=None, cancel=None) -> dict[str, Any]:
    """Add video files (or a folder of them); a file that cannot be read is reported, not fatal."""
    report = progress or (lambda step, total, message: None)
    added, errors = [], {}
    with open_project(project_folder) as project:
        files = list(paths) if not isinstance(paths, (str, Path)) else [paths]
        for index, file in enumerate(files, start=1):
            if cancel is not None and cancel.is_set():
                break
            report(index, len(files), f"adding {Path(file).name}")
            try:
                added += [video.id for video in project.add_videos(file)]
            except (SemiIINError, OSError) as exc:
                log.warning("could not add %s: %s", file, exc)
                errors[str(file)] = str(exc)
    return {"added": added, "errors": errors}


def find_transcript(video_path: Path) -> Path | None:
    """Return the transcript file next to ``video_path`` (same name, known suffix), if any."""
    for suffix in TRANSCRIPT_SUFFIXES:
        candidate = video_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


# Sub-folders of a models folder that hold the paper preset's encoders.
PAPER_MODEL_FOLDERS = (("roberta", "roberta-large"), ("hubert", "hubert-large-ls960-ft"), ("fabnet_folder", "fabnet"))


def preset_options(name: str, models_folder: str | Path | None = None, allow_download: bool = False) -> dict:
    """Return get_preset options for the user's settings.

    The paper preset's encoders are taken from ``models_folder/roberta-large``,
    ``.../hubert-large-ls960-ft`` and ``.../fabnet`` when those folders exist,
    else from the Hugging Face cache; downloads happen only with ``allow_download``.
    The lite preset ships its encoders and takes neither setting.
    """
    if name != "paper":
        return {}
    options: dict[str, Any] = {"allow_download": bool(allow_download)}
    if models_folder:
        for option, folder in PAPER_MODEL_FOLDERS:
            candidate = Path(models_folder) / folder
            if candidate.is_dir():
                options[option] = str(candidate)
    return options


def feature_cache(project, preset):
    from core_model.data.cache import FeatureCache

    return FeatureCache(project.features_dir / preset.name, preset.name, preset.dims)


def clip_rows(analyzed: Iterable[Any]) -> list[dict[str, Any]]:
    """Turn AnalyzedClip objects into the clip mappings the project store takes."""
    rows = []
    for clip in analyzed:
        rows.append({
            "start_s": clip.start_s,
            "end_s": clip.end_s,
            "text": clip.text,
            "words": [{"text": w.text, "start_s": w.start_s, "end_s": w.end_s, "confidence": w.confidence}
                      for w in clip.words],
            "alignment_confidence": clip.alignment_confidence,
            "missing": sorted(clip.missing),
            "is_machine_draft": clip.is_machine_draft,
            "feature_key": clip.feature_key,
            "meta": {"missing_reasons": dict(clip.missing), "warnings": list(clip.warnings)},
        })
    return rows


def analyze_project(
    project_folder: str | Path,
    video_ids: Iterable[int] | None = None,
    *,
    preset_name: str | None = None,
    models_folder: str | Path | None = None,
    allow_download: bool = False,
    predict: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
    cancel=None,
    on_event: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Analyse the given videos (default: all with a media file) and predict their clips.

    ``models_folder`` and ``allow_download`` locate the paper preset's encoders
    (see :func:`preset_options`).

    Returns a summary: clips per video, per-video errors (a video that cannot
    be decoded is reported and skipped, the others go on) and the prediction
    summary when ``predict`` is true.
    """
    from core_model.features.pipeline import analyze_video
    from core_model.features.presets import get_preset

    report = progress or (lambda step, total, message: None)
    with open_project(project_folder) as project:
        name = preset_name or project.get_setting(PRESET_SETTING, DEFAULT_PRESET)
        wanted = None if video_ids is None else {int(v) for v in video_ids}
        videos = [v for v in project.videos() if v.path is not None and (wanted is None or v.id in wanted)]
        total = len(videos) + (1 if predict else 0) + 1
        report(0, total, f"loading the {name} feature encoders")
        preset = get_preset(name, **preset_options(name, models_folder, allow_download))
        cache = feature_cache(project, preset)
        summary: dict[str, Any] = {"preset": name, "videos": {}, "errors": {}, "clip_errors": {}}
        for index, video in enumerate(videos, start=1):
            if cancel is not None and cancel.is_set():
                summary["cancelled"] = True
                break
            report(index, total, f"analysing {video.name}")
            if not video.exists:
                summary["errors"][video.name] = (f"media file {video.path} not found; add the moved file again "
                                             "(File > Add videos): a file with the same content is relinked")
                continue
            clip_errors: list = []
            try:
                if video.duration_s is None:
                    project.probe_video(video.id)
                analyzed = analyze_video(video.path, preset, cache, transcript_path=find_transcript(video.path),
                                         cancel=cancel, errors=clip_errors, threads=WORKER_THREADS)
            except SemiIINError as exc:
                if cancel is not None and cancel.is_set():
                    summary["cancelled"] = True
                    break
                log.warning("analysis of %s failed: %s", video.path, exc)
                summary["errors"][video.name] = str(exc)
                continue
            project.add_clips(video.id, clip_rows(analyzed))
            summary["videos"][video.name] = len(analyzed)
            if clip_errors:
                summary["clip_errors"][video.name] = [f"{e.start_s:.2f}-{e.end_s:.2f} s: {e.message}"
                                                     for e in clip_errors]
            if on_event is not None:
                on_event({"kind": "video_analyzed", "video_id": video.id, "clips": len(analyzed)})
    if predict and not summary.get("cancelled"):
        from app.services.prediction import predict_project

        report(total - 1, total, "predicting clips")
        summary["prediction"] = predict_project(project_folder, cancel=cancel)
    report(total, total, "done")
    return summary
