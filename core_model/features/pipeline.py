"""Analyse a video into clips with words and cached features of one preset.

Steps: probe the file and decode its audio once (16 kHz mono). Read the
transcript, or draft one by speech recognition. Cut clips from transcript
cues, else from voice activity, else into fixed windows. Per clip, align the
words, encode text, audio and faces, and store the features in a
FeatureCache. A clip whose features are already cached under the same key is
read back instead of recomputed. A modality that cannot be encoded for a clip
is flagged in ``AnalyzedClip.missing`` with the reason and left out of the
cache entry, never replaced by zeros.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from core_model.data.batch import ClipFeatures
from core_model.data.cache import FeatureCache
from core_model.errors import AnalysisCancelled, DataError, SemiIINError
from core_model.features.analyzed_clip import (
    AnalyzedClip,
    clip_feature_key,
    hash_media_file,
    read_record,
    write_record,
)
from core_model.features.base import AUDIO_SAMPLE_RATE, check_features
from core_model.features.presets import Preset
from core_model.media.align import align_words
from core_model.media.decode import decode_audio, is_silent, probe
from core_model.media.faces import FaceTrack, extract_faces
from core_model.media.transcripts import Transcript, Word, normalize_words, read_transcript
from core_model.media.vad import segment_clips

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]

# Face crops are sampled at this rate by default; the lite face encoder gives one row per crop.
DEFAULT_FACE_FPS = 5.0
FACE_CROP_SIZE = 48
# A clip whose sampled frames show a face less often than this is flagged as having no face.
MIN_FACE_RATIO = 0.1
# Clips of a transcript without times: one clip when the media is at most this long.
MAX_CLIP_S = 15.0


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class ClipError:
    """A clip that could not be analysed, with the error message."""

    index: int
    start_s: float
    end_s: float
    error_type: str
    message: str


@dataclass(frozen=True)
class _ClipSource:
    """A clip span and the words known for it before alignment."""

    start_s: float
    end_s: float
    text: str
    timed_words: tuple[Word, ...] | None  # words with transcript times, or None when they need alignment
    confidence: float | None = None  # for words aligned over the whole file before cutting clips


def analyze_video(
    path: str | Path,
    preset: Preset,
    cache: FeatureCache,
    transcript_path: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    face_fps: float = DEFAULT_FACE_FPS,
    errors: list[ClipError] | None = None,
    threads: int | None = None,
    single_clip: bool = False,
) -> list[AnalyzedClip]:
    """Analyse the video at ``path`` and return its clips in time order.

    ``progress(step, total, message)`` is called once before the clips and
    after each clip. ``cancel.is_set()`` is checked before each clip and
    raises AnalysisCancelled. When ``errors`` is a list, a clip that fails
    with a SemiIINError is recorded there and skipped; otherwise the error
    propagates. Media errors of the whole file (not found, not media,
    truncated) always propagate. ``transcript_path`` may also be a Transcript
    that is already read. ``single_clip`` analyses the whole file as one clip,
    as utterance-level corpora such as CMU-MOSI need. ``threads`` sets torch's intra-op thread
    count during the analysis and restores it afterwards (None: unchanged).
    Per-clip inputs are small, so one thread is often fastest, and much
    faster on a busy machine, where several threads wait on each other.
    """
    if threads is None:
        return _analyze(Path(path), preset, cache, transcript_path, progress, cancel, face_fps, errors, single_clip)
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        return _analyze(Path(path), preset, cache, transcript_path, progress, cancel, face_fps, errors, single_clip)
    finally:
        torch.set_num_threads(previous)


def _analyze(path: Path, preset: Preset, cache: FeatureCache, transcript_path, progress, cancel,
             face_fps: float, errors: list[ClipError] | None, single_clip: bool) -> list[AnalyzedClip]:
    _check_cache(cache, preset)
    report = progress or (lambda step, total, message: None)

    info = probe(path)
    media_hash = hash_media_file(path)
    audio = decode_audio(path, AUDIO_SAMPLE_RATE) if info.has_audio else None
    audio_silent = audio is None or is_silent(audio)
    if transcript_path is None or isinstance(transcript_path, Transcript):
        transcript = transcript_path
    else:
        transcript = read_transcript(transcript_path)
    sources, is_draft = _clip_sources(info.duration_s, audio, audio_silent, transcript, single_clip)
    media = _Media(path, info, audio, face_fps)
    # The face sampling rate changes the visual rows, so it is part of the cache key.
    encoders = {**preset.identifiers, "visual": f"{preset.identifiers['visual']}@{face_fps:g}fps"}
    total = len(sources) + 1
    report(1, total, f"{len(sources)} clips")

    clips: list[AnalyzedClip] = []
    for index, source in enumerate(sources):
        if cancel is not None and cancel.is_set():
            raise AnalysisCancelled(f"analysis of {path} cancelled after {index} of {len(sources)} clips")
        words_source = "machine-draft" if is_draft else " ".join(normalize_words(source.text))
        key = clip_feature_key(media_hash, source.start_s, source.end_s, encoders, words_source)
        try:
            clip = _cached_clip(cache, key, index)
            if clip is None:
                clip = _analyze_clip(media, source, index, key, preset, cache, is_draft)
        except SemiIINError as exc:
            if errors is None:
                raise
            log.warning("%s: clip %d (%.2f-%.2f s) failed: %s", path, index, source.start_s, source.end_s, exc)
            errors.append(ClipError(index, source.start_s, source.end_s, type(exc).__name__, str(exc)))
            report(index + 2, total, f"clip {index + 1}/{len(sources)} failed")
            continue
        clips.append(clip)
        report(index + 2, total, f"clip {index + 1}/{len(sources)}")
    return clips


def _check_cache(cache: FeatureCache, preset: Preset) -> None:
    if cache.preset != preset.name or cache.dims != preset.dims:
        raise DataError(
            f"feature cache {cache.root} contains preset {cache.preset!r} with dims {cache.dims}, but the analysis "
            f"uses preset {preset.name!r} with dims {preset.dims}; use another cache folder"
        )


def _cached_clip(cache: FeatureCache, key: str, index: int) -> AnalyzedClip | None:
    if not cache.has(key):
        return None
    record = read_record(cache.root, key)
    if record is None:
        return None
    log.debug("clip %d: features and analysis read from cache key %s", index, key)
    return record


def _clip_sources(duration_s: float, audio: np.ndarray | None, audio_silent: bool,
                  transcript: Transcript | None, single_clip: bool) -> tuple[list[_ClipSource], bool]:
    """Cut the media into clip spans and attach each span's transcript words.

    Returns the clip sources and whether their words will come from a machine draft.
    """
    speech = None if audio_silent else audio
    if single_clip:
        if transcript is None:
            return [_ClipSource(0.0, duration_s, "", None)], speech is not None
        cues = [cue for cue in transcript.cues if cue.text.strip()]
        return [_ClipSource(0.0, duration_s, " ".join(cue.text for cue in cues), _inline_words(cues))], False
    if transcript is not None and transcript.has_times:
        spans = segment_clips(duration_s, transcript=transcript)
        return [_timed_source(span, transcript) for span in spans], False
    if transcript is not None:
        return _untimed_sources(duration_s, speech, transcript.text), False
    spans = segment_clips(duration_s, audio=speech)
    # Without speech there are no words to draft, so the clips carry no text.
    return [_ClipSource(start, end, "", None) for start, end in spans], speech is not None


def _timed_source(span: tuple[float, float], transcript: Transcript) -> _ClipSource:
    """Collect the cues whose middle lies in ``span``, with their inline word times when all have them."""
    start, end = span
    cues = [
        cue for cue in transcript.cues
        if cue.start_s is not None and start <= (cue.start_s + cue.end_s) / 2 < end and cue.text.strip()
    ]
    return _ClipSource(start, end, " ".join(cue.text for cue in cues), _inline_words(cues))


def _inline_words(cues) -> tuple[Word, ...] | None:
    if cues and all(cue.words for cue in cues):
        return tuple(w for cue in cues for w in cue.words)
    return None


def _untimed_sources(duration_s: float, speech: np.ndarray | None, text: str) -> list[_ClipSource]:
    """Clip a transcript without times: one clip for short media, else align it whole and cut by voice activity."""
    if duration_s <= MAX_CLIP_S or speech is None:
        return [_ClipSource(0.0, duration_s, text, None)]
    # NOTE: the whole text is aligned in one pass; very long transcripts may align poorly or slowly.
    alignment = align_words(speech, text, 0.0)
    spans = segment_clips(duration_s, audio=speech)
    sources = []
    for start, end in spans:
        words = tuple(w for w in alignment.words if start <= (w.start_s + w.end_s) / 2 < end)
        sources.append(_ClipSource(start, end, " ".join(w.text for w in words), words, alignment.confidence))
    return sources


class _Media:
    """The probed file, its decoded audio and, once needed, its face track over the whole video."""

    def __init__(self, path: Path, info, audio: np.ndarray | None, face_fps: float):
        self.path = path
        self.info = info
        self.audio = audio
        self.face_fps = face_fps
        self._track = None

    def face_track(self) -> FaceTrack:
        # One decoding pass for all clips; clips take their samples with FaceTrack.between.
        if self._track is None:
            self._track = extract_faces(self.path, self.face_fps, size=FACE_CROP_SIZE)
        return self._track


def _analyze_clip(media: _Media, source: _ClipSource, index: int, key: str, preset: Preset, cache: FeatureCache,
                  is_draft: bool) -> AnalyzedClip:
    start, end = source.start_s, source.end_s
    clip_audio = None
    if media.audio is not None:
        clip_audio = media.audio[int(round(start * AUDIO_SAMPLE_RATE)): int(round(end * AUDIO_SAMPLE_RATE))]
    missing: dict[str, str] = {}
    warnings: list[str] = []

    words, confidence, text = _clip_words(source, clip_audio, is_draft, warnings)
    features = ClipFeatures(name=f"{media.path.name}#{index}")
    features.text = _encode_text(preset, words, missing)
    features.audio = _encode_audio(preset, media.info, clip_audio, missing)
    features.visual = _encode_visual(preset, media, start, end, missing)
    cache.put(key, features)

    clip = AnalyzedClip(
        index=index,
        start_s=start,
        end_s=end,
        text=text,
        words=tuple(words),
        alignment_confidence=confidence,
        is_machine_draft=is_draft,
        missing=missing,
        feature_key=key,
        warnings=tuple(warnings),
    )
    write_record(cache.root, clip)
    log.debug("clip %d (%.2f-%.2f s): %d words, missing %s", index, start, end, len(words), missing or "none")
    return clip


def _clip_words(source: _ClipSource, clip_audio: np.ndarray | None, is_draft: bool,
                warnings: list[str]) -> tuple[list[Word], float | None, str]:
    """Return the clip's timed words, the alignment confidence and the clip text."""
    if source.timed_words is not None:
        return list(source.timed_words), source.confidence, source.text
    has_speech = clip_audio is not None and clip_audio.size > 0 and not is_silent(clip_audio)
    text = source.text
    if is_draft:
        if not has_speech:
            return [], None, ""
        from core_model.media.asr import draft_transcript

        # The draft comes back force-aligned, with word times on the media clock.
        draft = draft_transcript(clip_audio, offset_s=source.start_s)
        warnings.extend(draft.warnings)
        if draft.words:
            warnings.append("machine draft transcript: check and correct the words")
        return list(draft.words), float(draft.confidence) if draft.words else None, draft.text
    if not normalize_words(text):
        return [], None, text
    if not has_speech:
        warnings.append("no speech to align the transcript with, so its words have no times")
        return _untimed_words(text, source.start_s, source.end_s), None, text

    alignment = align_words(clip_audio, text, source.start_s)
    warnings.extend(alignment.warnings)
    if not alignment.matched and not alignment.warnings:
        warnings.append(f"transcript does not match the audio (alignment confidence {alignment.confidence:.2f})")
    return list(alignment.words), float(alignment.confidence), text


def _untimed_words(text: str, start_s: float, end_s: float) -> list[Word]:
    # NOTE: without audio the words get equal shares of the clip span; these times are not measured.
    # Words are split on whitespace, as align_words splits them, so both paths give the same words.
    tokens = text.split()
    step = (end_s - start_s) / max(1, len(tokens))
    return [Word(t, start_s + i * step, start_s + (i + 1) * step, None) for i, t in enumerate(tokens)]


def _encode_text(preset: Preset, words: Sequence[Word], missing: dict[str, str]) -> np.ndarray | None:
    if preset.text is None:
        missing["text"] = "no text encoder available"
        return None
    if not words:
        missing["text"] = "no words"
        return None
    vectors = preset.text.encode_words([w.text for w in words])
    return check_features(vectors, dim=preset.dims["text"], rows=len(words), source="text features")


def _encode_audio(preset: Preset, info, clip_audio: np.ndarray | None, missing: dict[str, str]) -> np.ndarray | None:
    if not info.has_audio or clip_audio is None:
        missing["audio"] = "no audio stream"
        return None
    if is_silent(clip_audio):
        missing["audio"] = "silent audio"
        return None
    if preset.audio is None:
        missing["audio"] = "no audio encoder available"
        return None
    frames = check_features(preset.audio.encode(clip_audio), dim=preset.dims["audio"], rows=None,
                            source="audio features")
    if len(frames) == 0:
        missing["audio"] = "clip too short for the audio encoder"
        return None
    return frames


def _encode_visual(preset: Preset, media: _Media, start_s: float, end_s: float,
                   missing: dict[str, str]) -> np.ndarray | None:
    if not media.info.has_video:
        missing["visual"] = "no video stream"
        return None
    if preset.visual is None:
        missing["visual"] = "no visual encoder available"
        return None
    track = media.face_track().between(start_s, end_s)
    if not track.has_face(MIN_FACE_RATIO):
        missing["visual"] = f"no face found ({int(track.found.sum())} of {track.found.size} sampled frames)"
        return None
    crops = track.crops[track.found]  # (M, 48, 48): only the frames where a face was found
    return check_features(preset.visual.encode(crops), dim=preset.dims["visual"], rows=crops.shape[0],
                          source="visual features")
