"""SRT and WebVTT: export a video's clips as subtitles, and read subtitle files as cues."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.project.atomic import atomic_write_text
from app.project.errors import ImportFormatError
from app.project.text_files import read_text

log = logging.getLogger(__name__)

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_CUE_LINE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_INLINE_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Cue:
    """A timed piece of transcript, in seconds."""

    start_s: float
    end_s: float
    text: str


def format_timestamp(seconds: float, separator: str) -> str:
    """Format seconds as HH:MM:SS<separator>mmm (separator "," for SRT, "." for WebVTT)."""
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _seconds(hours: str | None, minutes: str, secs: str, fraction: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(fraction.ljust(3, "0")) / 1000


def clip_cues(project, video_id: int) -> list[Cue]:
    """Return the timed, non-empty clips of a video as cues, in start order."""
    return [Cue(row.start_s, row.end_s, row.text) for row in project.list_clips(video_id=video_id, order_by="start")
            if row.start_s is not None and row.text.strip()]


def format_srt(cues: list[Cue]) -> str:
    blocks = []
    for index, cue in enumerate(cues, start=1):
        times = f"{format_timestamp(cue.start_s, ',')} --> {format_timestamp(cue.end_s, ',')}"
        blocks.append(f"{index}\n{times}\n{cue.text.strip()}\n")
    return "\n".join(blocks)


def format_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        # "-->" may not appear in WebVTT cue text; an arrow is the closest safe character.
        text = cue.text.strip().replace("-->", "→")
        blocks.append(f"{format_timestamp(cue.start_s, '.')} --> {format_timestamp(cue.end_s, '.')}\n{text}\n")
    return "\n".join(blocks)


def export_srt(project, video_id: int, path: str | os.PathLike, *, crlf: bool = False) -> int:
    """Write a video's clips as SubRip (UTF-8, atomically); return the number of cues."""
    cues = clip_cues(project, video_id)
    atomic_write_text(path, format_srt(cues), newline="\r\n" if crlf else "\n")
    log.info("exported %d cues of video %d to %s", len(cues), video_id, path)
    return len(cues)


def export_vtt(project, video_id: int, path: str | os.PathLike) -> int:
    """Write a video's clips as WebVTT (UTF-8, atomically); return the number of cues."""
    cues = clip_cues(project, video_id)
    atomic_write_text(path, format_vtt(cues))
    log.info("exported %d cues of video %d to %s", len(cues), video_id, path)
    return len(cues)


def parse_cues(text: str, source: str, *, webvtt: bool = False) -> list[Cue]:
    """Parse SRT or WebVTT text (already decoded, ``\\n`` line ends) into cues.

    Cue numbers, identifiers, settings after the times, NOTE/STYLE/REGION
    blocks and inline tags such as ``<c>`` or word timestamps are ignored.
    Consecutive cues with identical text (rolling YouTube captions) are kept
    as separate cues.
    """
    cues = []
    # WebVTT ends a cue only at an empty line, and YouTube cues contain lines of
    # one space; SRT files in the wild also separate cues by whitespace-only lines.
    separator = r"\n\n+" if webvtt else r"\n[ \t]*\n"
    for block in re.split(separator, text.strip()):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        match = _CUE_LINE.match(lines[timing])
        if match is None:
            raise ImportFormatError(f"{source}: invalid cue timing line {lines[timing]!r}")
        start = _seconds(*match.groups()[:4])
        end = _seconds(*match.groups()[4:])
        if end < start:
            raise ImportFormatError(f"{source}: cue ends before it starts: {lines[timing]!r}")
        body = " ".join(_INLINE_TAG.sub("", line).strip() for line in lines[timing + 1:])
        body = re.sub(r"\s+", " ", body).strip()
        cues.append(Cue(start, end, body))
    return cues


def read_subtitles(path: str | os.PathLike) -> list[Cue]:
    """Read an SRT or WebVTT file (BOM, CRLF and legacy encodings accepted)."""
    file = Path(path)
    text = read_text(file)
    if file.suffix.lower() == ".vtt" and not text.lstrip().startswith("WEBVTT"):
        raise ImportFormatError(f"{file} does not start with WEBVTT; is it a WebVTT file?")
    cues = parse_cues(text, str(file), webvtt=text.lstrip().startswith("WEBVTT"))
    if not cues:
        raise ImportFormatError(f"{file} contains no timed cues")
    return cues


def import_subtitles(project, video_id: int, path: str | os.PathLike, *, skip_empty: bool = True) -> list[int]:
    """Replace a video's clips with the cues of an SRT or WebVTT file; return the clip ids."""
    cues = read_subtitles(path)
    clips = [{"start_s": cue.start_s, "end_s": cue.end_s, "text": cue.text}
             for cue in cues if cue.end_s > cue.start_s and (cue.text or not skip_empty)]
    return project.add_clips(video_id, clips)
