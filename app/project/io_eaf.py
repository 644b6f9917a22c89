"""ELAN .eaf export (tiers for words, clips, labels and predictions) and transcript import, via pympi-ling."""

from __future__ import annotations

import logging
import mimetypes
import os
import tempfile
from pathlib import Path

from pympi.Elan import Eaf, to_eaf

from app.project.atomic import atomic_write_bytes
from app.project.errors import ImportFormatError
from app.project.io_subtitles import Cue

log = logging.getLogger(__name__)

TIER_WORDS = "words"
TIER_CLIPS = "clips"
TIER_SENTIMENT = "sentiment"
TIER_PREDICTION = "prediction"


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def export_eaf(project, video_id: int, path: str | os.PathLike) -> dict[str, int]:
    """Write a video's clips to an ELAN file atomically; return the annotation count per tier.

    Tiers: ``clips`` (clip text), ``words`` (aligned words), ``sentiment``
    (human labels as "+1.40 corrected"), ``prediction`` (latest model output as
    "+0.30 p=0.75"). Clips without times are left out.
    """
    video = project.video(video_id)
    eaf = Eaf(author="Semi-IIN Studio")
    if "default" in eaf.get_tier_names():
        # pympi adds an empty tier called "default" to every new document.
        eaf.remove_tier("default")
    if video.path is not None:
        mime = mimetypes.guess_type(video.path.name)[0] or "video/mp4"
        eaf.add_linked_file(video.path.as_uri(), mimetype=mime)
    for tier in (TIER_CLIPS, TIER_WORDS, TIER_SENTIMENT, TIER_PREDICTION):
        eaf.add_tier(tier)
    counts = dict.fromkeys((TIER_CLIPS, TIER_WORDS, TIER_SENTIMENT, TIER_PREDICTION), 0)
    for row in project.list_clips(video_id=video_id, order_by="start"):
        if row.start_s is None:
            continue
        start, end = _ms(row.start_s), _ms(row.end_s)
        if end <= start:
            continue
        eaf.add_annotation(TIER_CLIPS, start, end, row.text)
        counts[TIER_CLIPS] += 1
        for word in row.words:
            if word.get("start_s") is None or word.get("end_s") is None:
                continue
            word_start, word_end = _ms(word["start_s"]), _ms(word["end_s"])
            if word_end > word_start:
                eaf.add_annotation(TIER_WORDS, word_start, word_end, word["text"])
                counts[TIER_WORDS] += 1
        if row.label_intensity is not None:
            eaf.add_annotation(TIER_SENTIMENT, start, end, f"{row.label_intensity:+.2f} {row.status}")
            counts[TIER_SENTIMENT] += 1
        if row.predicted_intensity is not None:
            confidence = "" if row.confidence is None else f" p={row.confidence:.2f}"
            eaf.add_annotation(TIER_PREDICTION, start, end, f"{row.predicted_intensity:+.2f}{confidence}")
            counts[TIER_PREDICTION] += 1
    # pympi writes to a path, so write to a scratch file and publish it atomically.
    with tempfile.TemporaryDirectory() as scratch:
        scratch_file = Path(scratch) / "export.eaf"
        to_eaf(str(scratch_file), eaf, pretty=True)
        atomic_write_bytes(path, scratch_file.read_bytes())
    log.info("exported video %d to %s: %s", video_id, path, counts)
    return counts


def read_eaf_tier(path: str | os.PathLike, tier: str | None = None) -> list[Cue]:
    """Read the annotations of one tier as cues; by default the ``clips`` tier, else the only tier."""
    file = Path(path)
    try:
        eaf = Eaf(str(file))
    except Exception as exc:  # pympi raises bare exceptions from the XML parser
        raise ImportFormatError(f"{file} is not a readable ELAN file: {exc}") from exc
    names = list(eaf.get_tier_names())
    if tier is None:
        if TIER_CLIPS in names:
            tier = TIER_CLIPS
        elif len(names) == 1:
            tier = names[0]
        else:
            raise ImportFormatError(f"{file} has tiers {names}; choose the transcript tier")
    if tier not in names:
        raise ImportFormatError(f"{file} has no tier {tier!r}; its tiers are {names}")
    annotations = sorted(eaf.get_annotation_data_for_tier(tier), key=lambda item: (item[0], item[1]))
    return [Cue(start / 1000, end / 1000, str(value)) for start, end, value, *_ in annotations]


def import_eaf_transcript(project, video_id: int, path: str | os.PathLike, tier: str | None = None) -> list[int]:
    """Replace a video's clips with the annotations of an ELAN transcript tier; return the clip ids."""
    cues = read_eaf_tier(path, tier)
    clips = [{"start_s": cue.start_s, "end_s": cue.end_s, "text": cue.text} for cue in cues if cue.end_s > cue.start_s]
    return project.add_clips(video_id, clips)
