"""Read transcripts (SRT, WebVTT, ELAN .eaf, plain text, MMSA label.csv) into one shape.

Times are seconds from the start of the media. Text files may be UTF-8 with
or without a byte order mark, UTF-16 or UTF-32 with a byte order mark, or a
legacy 8-bit encoding, which charset-normalizer guesses unless the caller
passes `encoding`.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from core_model.errors import TranscriptError

logger = logging.getLogger(__name__)

FORMATS = ("srt", "vtt", "eaf", "text", "label_csv")

_EXTENSION_FORMATS = {
    ".srt": "srt",
    ".vtt": "vtt",
    ".webvtt": "vtt",
    ".eaf": "eaf",
    ".txt": "text",
    ".csv": "label_csv",
}


@dataclass(frozen=True)
class Word:
    """One spoken word with its start and end in seconds, and a confidence in [0, 1] when known."""

    text: str
    start_s: float
    end_s: float
    confidence: float | None = None


@dataclass(frozen=True)
class Cue:
    """A span of transcript text. Its times are None when the source has none (plain text, label.csv)."""

    start_s: float | None
    end_s: float | None
    text: str
    words: list[Word] | None = None
    clip_id: str | None = None


@dataclass(frozen=True)
class Transcript:
    """The cues of one transcript, in time order when they have times."""

    cues: list[Cue]
    source_path: Path | None
    format: str
    is_machine_draft: bool = False
    language: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All cue texts joined by spaces."""
        return " ".join(cue.text for cue in self.cues if cue.text)

    @property
    def has_times(self) -> bool:
        return any(cue.start_s is not None for cue in self.cues)

    @property
    def words(self) -> list[Word]:
        """The timed words of all cues (empty when the source has no word times)."""
        return [word for cue in self.cues for word in (cue.words or [])]


# Words: runs of letters or digits, joined by inner apostrophes (don't, o'clock).
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Sound labels such as [Music] or [Applause] in captions are not speech.
_SOUND_LABEL = re.compile(r"\[[^\]]*\]")


def normalize_words(text: str) -> list[str]:
    """Split transcript text into lower-case words, keeping inner apostrophes.

    Markup tags and bracketed sound labels ([Music]) are dropped, and a
    typographic apostrophe becomes "'". MOSI's upper-case spellings without
    apostrophes (IM, DONT) stay as written, lower-cased.

    NOTE: scripts written without spaces (Chinese, Japanese) come back as one
    word per run of characters.
    """
    text = _strip_markup(text)
    text = _SOUND_LABEL.sub(" ", text)
    return [match.group(0).replace("’", "'").lower() for match in _WORD.finditer(text)]


def read_transcript(
    path: str | Path,
    encoding: str | None = None,
    format: str | None = None,
    *,
    tier: str | None = None,
    video_id: str | None = None,
) -> Transcript:
    """Read a transcript file whose format comes from `format`, the extension, or the content.

    `tier` names the ELAN tier to read (default: the first tier with text).
    `video_id` selects the rows of an MMSA label.csv (needed when the file
    contains several videos). Raises TranscriptError with the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(f"Transcript file not found: {path}. Check the path.")
    if format is not None and format not in FORMATS:
        raise TranscriptError(f"Unknown transcript format {format!r} for {path}. Use one of {', '.join(FORMATS)}.")

    if format == "eaf" or (format is None and path.suffix.lower() == ".eaf"):
        return read_eaf(path, tier=tier)

    raw = path.read_bytes()
    text, used_encoding = decode_text(raw, path, encoding)
    fmt = format or _EXTENSION_FORMATS.get(path.suffix.lower()) or _sniff_format(text)
    if format is None and fmt == "text":
        fmt = _sniff_format(text)  # subtitles are often saved as .txt
    if fmt == "eaf":
        return read_eaf(path, tier=tier)

    if fmt == "srt":
        cues = parse_srt(text, path)
    elif fmt == "vtt":
        cues = parse_vtt(text, path)
    elif fmt == "label_csv":
        cues = parse_label_csv(text, path, video_id)
    else:
        cues = [Cue(None, None, " ".join(text.split()))] if text.strip() else []

    notes: list[str] = []
    if fmt in ("srt", "vtt"):
        cues, notes = clean_cues(cues, path)
    if not cues:
        logger.warning("%s: transcript has no text", path)
    language = _vtt_language(text) if fmt == "vtt" else None
    return Transcript(cues, path, fmt, language=language, encoding=used_encoding, notes=notes)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(raw: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file's bytes and return (text with '\\n' line ends, encoding used).

    Order: the caller's `encoding`, a byte order mark, strict UTF-8, then
    charset-normalizer's best guess (logged, since a guess can be wrong).
    """
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise TranscriptError(f"Decoding {path} as {encoding} failed: {error}. Pass the file's real encoding.") from error
        used = encoding
    else:
        used = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
        if used is not None:
            text = raw.decode(used)
        else:
            try:
                text, used = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                text, used = _guess_legacy(raw, path)
                logger.info("%s: not UTF-8; decoded as %s (detected)", path, used)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text, used


# Tie-break among equally plausible guesses: the most widely used legacy encodings first.
_PREFERRED_LEGACY = ("cp1252", "iso8859_1", "iso8859_15", "cp1251", "cp1250", "gb18030", "big5", "shift_jis", "euc_kr")


def _guess_legacy(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode non-UTF-8 bytes with charset-normalizer's most plausible encoding.

    Short Western European texts often decode equally well as cp1252, cp1250
    and cp1257. Among the guesses tied with the best, the one listed first in
    _PREFERRED_LEGACY wins.
    """
    matches = list(charset_normalizer.from_bytes(raw))
    if not matches:
        raise TranscriptError(f"Detecting the text encoding of {path} failed. Pass encoding= (for example 'cp1252').")
    best = matches[0]
    tied = [match for match in matches if (match.chaos, match.coherence) == (best.chaos, best.coherence)]

    def rank(match) -> int:
        names = [match.encoding, *match.could_be_from_charset]
        return min((_PREFERRED_LEGACY.index(name) for name in names if name in _PREFERRED_LEGACY), default=len(_PREFERRED_LEGACY))

    chosen = min(tied, key=rank)
    encoding = next((name for name in [chosen.encoding, *chosen.could_be_from_charset] if name in _PREFERRED_LEGACY), chosen.encoding)
    if len(tied) > 1:
        logger.info("%s: encodings %s fit equally well; chose %s", path, [match.encoding for match in tied], encoding)
    return raw.decode(encoding), encoding


def _sniff_format(text: str) -> str:
    head = text.lstrip()[:2000]
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("<?xml") and "ANNOTATION_DOCUMENT" in head:
        return "eaf"
    if re.search(r"\d+:\d\d[,.]\d{1,3}\s*-->", head):
        return "srt"
    first_line = head.split("\n", 1)[0].lower()
    if "clip_id" in first_line and "text" in first_line:
        return "label_csv"
    return "text"


# HH:MM:SS,mmm or MM:SS.mmm (hours optional, comma or dot before the fraction).
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(.*)$")
_INLINE_TIME = re.compile(rf"<{_TIME}>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _strip_markup(text: str) -> str:
    return _TAG.sub("", text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")


def _blocks(text: str, strict_blank: bool = False) -> list[list[str]]:
    """Split text into blocks of lines at blank lines.

    With `strict_blank`, only empty lines separate blocks, as WebVTT requires.
    YouTube's captions contain cue lines that are a single space.
    """
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if (line != "") if strict_blank else line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def parse_srt(text: str, path: Path | None = None) -> list[Cue]:
    """Parse SubRip text into cues; blocks without a timing line are skipped with a warning."""
    cues = []
    skipped = 0
    for block in _blocks(text):
        timing_index = next((i for i, line in enumerate(block[:2]) if _TIMING.match(line)), None)
        if timing_index is None:
            skipped += 1
            continue
        groups = _TIMING.match(block[timing_index]).groups()
        start, end = _seconds(*groups[0:4]), _seconds(*groups[4:8])
        body = " ".join(_strip_markup(line).strip() for line in block[timing_index + 1 :])
        cues.append(Cue(start, end, " ".join(body.split())))
    if skipped:
        logger.warning("%s: skipped %d SRT blocks without a timing line", path, skipped)
    return cues


def parse_vtt(text: str, path: Path | None = None) -> list[Cue]:
    """Parse WebVTT text into cues, with word times from inline <HH:MM:SS.mmm> tags.

    YouTube's automatic captions repeat the previous line at the top of each
    cue and add 10 ms cues that only repeat the finished line. So in files
    with inline times, a first line equal to the previous cue's text is
    dropped, and cues left without text are skipped.
    """
    if not text.lstrip().startswith("WEBVTT"):
        raise TranscriptError(f"{path} is not WebVTT: the first line must start with 'WEBVTT'.")
    blocks = _blocks(text, strict_blank=True)[1:]  # the first block is the header
    inline_style = _INLINE_TIME.search(text) is not None
    cues = []
    for block in blocks:
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_index = next((i for i, line in enumerate(block[:2]) if _TIMING.match(line)), None)
        if timing_index is None:
            continue
        groups = _TIMING.match(block[timing_index]).groups()
        start, end = _seconds(*groups[0:4]), _seconds(*groups[4:8])
        lines = block[timing_index + 1 :]
        if inline_style:
            spoken = [line for line in lines if line.strip()]
            # YouTube repeats the previous cue's line above the new one.
            if spoken and cues and " ".join(_strip_markup(spoken[0]).split()) == cues[-1].text:
                spoken = spoken[1:]
            words = _inline_words(" ".join(spoken), start, end)
            if not words:
                continue
            cues.append(Cue(start, end, " ".join(word.text for word in words), words))
        else:
            body = " ".join(_strip_markup(line).strip() for line in lines)
            cues.append(Cue(start, end, " ".join(body.split())))
    return cues


def _inline_words(line: str, cue_start: float, cue_end: float) -> list[Word]:
    """Split caption text with inline time tags into timed words.

    A tag's time starts the text after it, and that text ends at the next tag
    or at the cue's end. Several words between two tags share that span
    evenly, which is an estimate.
    """
    pieces: list[tuple[float, str]] = []
    position, time = 0, cue_start
    for match in _INLINE_TIME.finditer(line):
        pieces.append((time, line[position : match.start()]))
        time = _seconds(*match.groups())
        position = match.end()
    pieces.append((time, line[position:]))

    words = []
    for index, (piece_start, piece) in enumerate(pieces):
        tokens = _strip_markup(piece).split()
        if not tokens:
            continue
        piece_end = pieces[index + 1][0] if index + 1 < len(pieces) else cue_end
        piece_end = max(piece_start, piece_end)
        step = (piece_end - piece_start) / len(tokens)
        for position, token in enumerate(tokens):
            words.append(Word(token, piece_start + position * step, piece_start + (position + 1) * step))
    return words


def _vtt_language(text: str) -> str | None:
    header = text.split("\n\n", 1)[0]
    match = re.search(r"^Language:\s*(\S+)", header, flags=re.MULTILINE)
    return match.group(1) if match else None


def parse_label_csv(text: str, path: Path | None, video_id: str | None) -> list[Cue]:
    """Read MMSA / M-SENA label.csv rows (video_id, clip_id, text, ...) as one untimed cue per clip."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in (reader.fieldnames or [])}
    missing = [name for name in ("video_id", "clip_id", "text") if name not in columns]
    if missing:
        raise TranscriptError(
            f"{path} lacks the label.csv columns {missing}; expected video_id, clip_id, text (MMSA format)."
        )
    rows = [{key: row[columns[key]] for key in ("video_id", "clip_id", "text")} for row in reader]
    video_ids = sorted({row["video_id"] for row in rows})
    if video_id is None:
        if len(video_ids) > 1:
            raise TranscriptError(
                f"{path} contains {len(video_ids)} videos ({', '.join(video_ids[:5])}...). Pass video_id= to pick one."
            )
    elif video_id not in video_ids:
        raise TranscriptError(f"{path} has no rows for video_id {video_id!r}. Its video ids include {', '.join(video_ids[:5])}.")
    selected = [row for row in rows if video_id is None or row["video_id"] == video_id]
    selected.sort(key=lambda row: (not row["clip_id"].isdigit(), int(row["clip_id"]) if row["clip_id"].isdigit() else 0, row["clip_id"]))
    return [Cue(None, None, " ".join(row["text"].split()), clip_id=row["clip_id"]) for row in selected]


def read_eaf(path: Path, tier: str | None = None) -> Transcript:
    """Read one tier of an ELAN .eaf file with pympi-ling, by default the first tier with text.

    Annotations on unaligned time slots (no time in the file) are skipped with
    a count in the notes.
    """
    import pympi  # imported here because pympi is only needed for .eaf files

    try:
        eaf = pympi.Elan.Eaf(str(path), suppress_version_warning=True)
    except Exception as error:  # pympi raises bare ParseError, KeyError or ValueError on bad files
        raise TranscriptError(f"Reading the ELAN file {path} failed: {error}. Check that it is a valid .eaf file.") from error

    tier_names = list(eaf.get_tier_names())
    if tier is not None:
        if tier not in tier_names:
            raise TranscriptError(f"{path} has no tier {tier!r}. Its tiers are {tier_names}.")
        chosen = tier
    else:
        with_text = [name for name in tier_names if any(str(row[2]).strip() for row in eaf.get_annotation_data_for_tier(name))]
        if not with_text:
            raise TranscriptError(f"{path} has no tier with text. Its tiers are {tier_names}.")
        chosen = with_text[0]
        if len(with_text) > 1:
            logger.info("%s: reading tier %r of the text tiers %s; pass tier= to pick another", path, chosen, with_text)

    cues = []
    untimed = 0
    for row in eaf.get_annotation_data_for_tier(chosen):
        start_ms, end_ms, value = row[0], row[1], str(row[2])
        if start_ms is None or end_ms is None:
            untimed += 1
            continue
        cues.append(Cue(start_ms / 1000, end_ms / 1000, " ".join(value.split())))
    cues, notes = clean_cues(cues, path)
    if untimed:
        notes.append(f"skipped {untimed} annotations without times")
        logger.warning("%s: skipped %d annotations of tier %r without times", path, untimed, chosen)
    language = eaf.tiers[chosen][2].get("LANG_REF")
    return Transcript(cues, path, "eaf", language=language, encoding="xml", notes=[f"tier {chosen}", *notes])


def clean_cues(cues: list[Cue], path: Path | None = None) -> tuple[list[Cue], list[str]]:
    """Sort timed cues, drop empty or inverted ones and merge overlapping repeats of one text.

    Overlapping cues with different text (two speakers) are kept. Returns the
    cues and one note per kind of change, which are also logged.
    """
    empty = [cue for cue in cues if not cue.text.strip()]
    inverted = [cue for cue in cues if cue.text.strip() and cue.end_s < cue.start_s]
    kept = sorted(
        (cue for cue in cues if cue.text.strip() and cue.end_s >= cue.start_s),
        key=lambda cue: (cue.start_s, cue.end_s),
    )
    merged: list[Cue] = []
    merges = overlaps = 0
    for cue in kept:
        previous = merged[-1] if merged else None
        if previous is not None and cue.start_s < previous.end_s:
            if cue.text == previous.text:
                words = previous.words if previous.words else cue.words
                merged[-1] = Cue(previous.start_s, max(previous.end_s, cue.end_s), cue.text, words, previous.clip_id)
                merges += 1
                continue
            overlaps += 1
        merged.append(cue)

    notes = []
    if empty:
        notes.append(f"dropped {len(empty)} empty cues")
    if inverted:
        notes.append(f"dropped {len(inverted)} cues that end before they start")
    if merges:
        notes.append(f"merged {merges} overlapping cues with repeated text")
    if overlaps:
        notes.append(f"kept {overlaps} cues that overlap the previous one")
    for note in notes:
        logger.info("%s: %s", path, note)
    return merged, notes
