"""Find speech in audio with silero-vad and cut media into clips.

The silero-vad wheel ships its model file, so nothing is downloaded. Its
import sets torch to one thread, so `_load_model` restores the caller's count.
"""

from __future__ import annotations

import logging
import math
import threading

import numpy as np

from core_model.media.transcripts import Transcript

logger = logging.getLogger(__name__)

VAD_SAMPLE_RATE = 16000

_model = None
_model_lock = threading.Lock()


def _load_model():
    """Load silero-vad's bundled TorchScript model once, keeping torch's thread count as it was."""
    global _model
    if _model is None:
        import torch

        threads = torch.get_num_threads()
        try:
            from silero_vad import load_silero_vad

            _model = load_silero_vad(onnx=False)
        finally:
            torch.set_num_threads(threads)
    return _model


def speech_segments(
    audio_16k: np.ndarray,
    min_silence_s: float = 0.3,
    min_speech_s: float = 0.25,
    threshold: float = 0.5,
    speech_pad_s: float = 0.03,
) -> list[tuple[float, float]]:
    """Return the (start_s, end_s) spans of speech in 16 kHz mono audio of shape (S,).

    Pauses shorter than `min_silence_s` stay inside a span, spans shorter than
    `min_speech_s` are dropped, and each span is widened by `speech_pad_s` on
    both sides. `threshold` is silero's speech probability cut-off in (0, 1).
    """
    audio = np.asarray(audio_16k, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio_16k must be mono with shape (S,), got shape {audio.shape}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a probability in (0, 1), got {threshold!r}")
    if audio.size < 512:  # silero scores windows of 512 samples (32 ms)
        return []

    import torch

    model = _load_model()  # first, so that it restores the thread count silero_vad's import changes
    from silero_vad import get_speech_timestamps

    options = dict(
        threshold=threshold,
        sampling_rate=VAD_SAMPLE_RATE,
        min_speech_duration_ms=int(round(min_speech_s * 1000)),
        min_silence_duration_ms=int(round(min_silence_s * 1000)),
        speech_pad_ms=int(round(speech_pad_s * 1000)),
    )
    # The model scores one 32 ms window per call. Such small operations run
    # fastest on one thread, because more threads contend on a busy machine.
    threads = torch.get_num_threads()
    with _model_lock, torch.inference_mode():
        torch.set_num_threads(1)
        try:
            stamps = get_speech_timestamps(torch.from_numpy(audio), model, **options)
        finally:
            torch.set_num_threads(threads)
    return [(stamp["start"] / VAD_SAMPLE_RATE, stamp["end"] / VAD_SAMPLE_RATE) for stamp in stamps]


def segment_clips(
    duration_s: float,
    transcript: Transcript | None = None,
    audio: np.ndarray | None = None,
    max_clip_s: float = 15.0,
    min_clip_s: float = 1.0,
    merge_gap_s: float = 0.5,
) -> list[tuple[float, float]]:
    """Cut a media file of `duration_s` seconds into clip spans (start_s, end_s), in order.

    Sources, in order of preference: the timed cues of `transcript` (joined
    into sentences when the text is punctuated), the speech spans in `audio`
    (16 kHz mono, shape (S,)), or equal windows of at most `max_clip_s` over
    the whole file. Speech spans closer than `merge_gap_s` are joined while
    the result stays within `max_clip_s`. Then spans shorter than
    `min_clip_s` are joined to a close neighbour where possible, and spans
    longer than `max_clip_s` are split at quiet moments of `audio` (into
    equal parts without audio). Clips never overlap.
    Audio without speech gives no clips.
    """
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    if not max_clip_s > min_clip_s >= 0:
        raise ValueError(
            f"max_clip_s must be larger than min_clip_s, and min_clip_s at least 0; "
            f"got max_clip_s={max_clip_s!r}, min_clip_s={min_clip_s!r}"
        )

    if transcript is not None and transcript.has_times:
        spans = _sentence_spans(transcript, merge_gap_s, max_clip_s)
        source = "transcript cues"
    elif audio is not None:
        spans = speech_segments(audio)
        source = "voice activity"
    else:
        spans = [(0.0, duration_s)]
        source = "fixed windows"

    spans = [(max(0.0, start), min(duration_s, end)) for start, end in sorted(spans)]
    spans = [(start, end) for start, end in spans if end > start]
    if source == "transcript cues":
        spans = _merge_close(spans, 0.0, max_clip_s)  # only removes overlaps
    else:
        spans = _merge_close(spans, merge_gap_s, max_clip_s)
    spans = _absorb_short(spans, min_clip_s, max_clip_s, merge_gap_s)
    clips = [part for span in spans for part in _split_long(span, max_clip_s, audio)]
    logger.info("Cut %.2f s into %d clips from %s", duration_s, len(clips), source)
    return clips


_SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")


def _sentence_spans(transcript: Transcript, gap_s: float, max_clip_s: float) -> list[tuple[float, float]]:
    """Return one span per cue, or per sentence when the transcript has sentence punctuation.

    Caption lines often break mid-sentence. So in a punctuated transcript, a
    cue whose text does not end a sentence is joined with the next cue when
    the pause is under `gap_s` and the result fits in `max_clip_s`. Unpunctuated transcripts (automatic captions) keep one span per cue.
    """
    cues = sorted((cue for cue in transcript.cues if cue.start_s is not None), key=lambda cue: cue.start_s)
    punctuated = any(cue.text.rstrip().endswith(_SENTENCE_END) for cue in cues)
    spans: list[tuple[float, float]] = []
    open_sentence = False
    for cue in cues:
        if spans and open_sentence:
            start, end = spans[-1]
            if cue.start_s - end < gap_s and cue.end_s - start <= max_clip_s:
                spans[-1] = (start, max(end, cue.end_s))
                open_sentence = not cue.text.rstrip().endswith(_SENTENCE_END)
                continue
        spans.append((cue.start_s, cue.end_s))
        open_sentence = punctuated and not cue.text.rstrip().endswith(_SENTENCE_END)
    return spans


def _merge_close(spans, gap_s: float, max_clip_s: float):
    """Join spans separated by less than `gap_s` while the result fits in `max_clip_s`.

    Overlapping spans that do not fit together are kept apart, and the later
    one starts where the earlier one ends, so clips never overlap.
    """
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged:
            previous_start, previous_end = merged[-1]
            if start - previous_end < gap_s and max(end, previous_end) - previous_start <= max_clip_s:
                merged[-1] = (previous_start, max(previous_end, end))
                continue
            start = max(start, previous_end)
            if end <= start:
                continue
        merged.append((start, end))
    return merged


def _absorb_short(spans, min_clip_s: float, max_clip_s: float, gap_s: float):
    """Join each span shorter than `min_clip_s` to its closer neighbour when that fits."""
    result = list(spans)
    index = 0
    while index < len(result):
        start, end = result[index]
        if end - start >= min_clip_s or len(result) == 1:
            index += 1
            continue
        candidates = []
        if index > 0:
            candidates.append((start - result[index - 1][1], index - 1))
        if index + 1 < len(result):
            candidates.append((result[index + 1][0] - end, index + 1))
        joined = False
        for gap, neighbour in sorted(candidates):
            low, high = sorted((index, neighbour))
            new_span = (result[low][0], result[high][1])
            if gap <= max(gap_s, min_clip_s) and new_span[1] - new_span[0] <= max_clip_s:
                result[low : high + 1] = [new_span]
                index = low
                joined = True
                break
        if not joined:
            index += 1
    return result


def _split_long(
    span: tuple[float, float], max_clip_s: float, audio: np.ndarray | None = None
) -> list[tuple[float, float]]:
    """Split a span longer than `max_clip_s` into parts of at most `max_clip_s`.

    With 16 kHz `audio`, each cut goes to the quietest 20 ms between half and
    all of `max_clip_s` after the previous cut, which is usually a pause
    between words. Without audio the parts are equal.

    TODO: split transcript cues at word boundaries when the cues have word times.
    """
    start, end = span
    if end - start <= max_clip_s:
        return [span]
    if audio is None:
        parts = math.ceil((end - start) / max_clip_s - 1e-9)
        step = (end - start) / parts
        return [(start + k * step, end if k == parts - 1 else start + (k + 1) * step) for k in range(parts)]

    frame = VAD_SAMPLE_RATE // 50  # 20 ms
    pieces = []
    while end - start > max_clip_s:
        # Cut between half and all of max_clip_s, leaving at least a quarter of it after the cut.
        low = start + max_clip_s / 2
        high = min(start + max_clip_s, end - max_clip_s / 4)
        first, last = int(low * VAD_SAMPLE_RATE) // frame, int(high * VAD_SAMPLE_RATE) // frame
        window = audio[first * frame : last * frame]
        frames = window.size // frame  # fewer than last - first where the audio ends early
        if frames == 0:
            cut = start + max_clip_s
        else:
            energy = (window[: frames * frame].reshape(frames, frame).astype(np.float64) ** 2).mean(axis=1)
            cut = (first + int(np.argmin(energy)) + 0.5) * frame / VAD_SAMPLE_RATE
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces
