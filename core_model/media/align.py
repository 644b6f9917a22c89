"""Forced alignment of a known transcript to 16 kHz speech with pocketsphinx.

`align_words` returns one timed `Word` per transcript word, in transcript
order, plus a per-clip confidence and a `matched` flag that is False when the
transcript does not fit the audio. It runs offline with the US English
acoustic model and CMUdict inside the pocketsphinx wheel
(`pocketsphinx.get_model_path()`).

Confidence. pocketsphinx scores each frame relative to the best-scoring
senone of that frame. The acoustic score of an aligned word, divided by its
frame count, is therefore a mean log-likelihood ratio against the best
unconstrained path. A free phone-loop decode of the MOSI sample clips scores
about 0 per frame. Speech of the transcript's words scores close to 0, and
speech of other words scores far below. A word's confidence is a
logistic function of its own mean frame score (lowered for guessed
pronunciations, 0 for interpolated words). The clip confidence is the
product of three terms, each in [0, 1]:

- the same logistic function of the clip's mean frame score over all word
  frames, where the time under interpolated words counts at the worst score,
- the fraction of transcript words that pocketsphinx aligned itself (the
  rest, dropped by the decoder or written without English letters, are
  placed by interpolation),
- the fraction of dictionary words whose mean phone duration is plausible
  (neither squeezed to the decoder's 3-frame minimum nor stretched), which
  catches a transcript too long or too short for the audio.

`matched` is ``confidence >= AlignConfig.match_threshold``.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import re
import threading
from dataclasses import dataclass, field, fields

import numpy as np
import pocketsphinx

from core_model.errors import ConfigError, DataError
from core_model.media.lexicon import dictionary_form, guess_pronunciation, tokens_for_alignment
from core_model.media.transcripts import Word

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# ln of the smallest positive double: pocketsphinx reports a word's acoustic
# score as a probability, which underflows to 0.0 below this.
_MIN_LN_SCORE = -745.0
# Silence, noise and sentence markers in a segmentation are not transcript words.
_NON_WORD = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_VARIANT_SUFFIX = re.compile(r"\(\d+\)$")
# pocketsphinx phone HMMs have 3 states without skips, so a phone lasts >= 3 frames.
_MIN_FRAMES_PER_PHONE = 3


@dataclass(frozen=True)
class AlignConfig:
    """Settings of `align_words`; construct with keywords or `from_dict`.

    Scores are mean natural-log acoustic scores per 10 ms frame, relative to
    the best senone of each frame (0 is the best possible, lower is worse).
    `score_center`, `score_scale` and `match_threshold` were fitted on real
    pairs of audio and text. The pairs were 160 RAVDESS clips with their own
    sentence and with the other one, the 37 cues of a LibriVox audiobook with
    their own and another cue's text, and the 4 x 4 MOSI sample pairs. With
    these values 0.96 of the pairs were classified correctly, averaged over
    the six groups (corpus x own or other text). Own text scored -0.9 to -4.1
    per frame and other text -2.0 to -6.1. bench/bench_align.py repeats this.
    `pad_s` is the padding added per retry, `min_phone_s` and `max_phone_s`
    bound a plausible mean phone duration, and `silence_rms` is the RMS
    below which audio counts as silent.
    """

    pad_s: float = 0.3
    max_retries: int = 2
    score_center: float = -2.5
    score_scale: float = 0.35
    min_phone_s: float = 0.035
    max_phone_s: float = 0.30
    guessed_word_weight: float = 0.8
    match_threshold: float = 0.5
    silence_rms: float = 1e-4

    def __post_init__(self) -> None:
        if self.pad_s < 0 or self.max_retries < 0:
            raise ConfigError(f"pad_s and max_retries must be >= 0, got {self.pad_s!r} and {self.max_retries!r}")
        if self.score_scale <= 0:
            raise ConfigError(f"score_scale must be > 0, got {self.score_scale!r}")
        if not 0.0 <= self.match_threshold <= 1.0:
            raise ConfigError(f"match_threshold must be in [0, 1], got {self.match_threshold!r}")

    @classmethod
    def from_dict(cls, values: dict) -> AlignConfig:
        """Build a config from a mapping; unknown keys raise ConfigError."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown AlignConfig keys {unknown}; valid keys are {sorted(known)}")
        return cls(**values)


@dataclass
class Alignment:
    """Timed transcript words and how far to trust them.

    `words` holds one entry per transcript word, in order, with times in
    seconds on the media's clock (``offset_s`` + position in the audio).
    `frame_score` is the clip's mean per-frame acoustic score (None when
    nothing was aligned) and `interpolated` counts words that pocketsphinx
    did not place, whose times were interpolated from their neighbours.
    """

    words: list[Word]
    confidence: float
    matched: bool
    warnings: list[str] = field(default_factory=list)
    frame_score: float | None = None
    interpolated: int = 0


@dataclass
class _Token:
    """One dictionary word sent to the decoder, and the transcript word it belongs to."""

    word_index: int
    spelling: str
    phones: int
    guessed: bool


@dataclass
class _Segment:
    spelling: str
    start_frame: int
    end_frame: int  # inclusive, as pocketsphinx reports it
    ln_score: float


class _SphinxAligner:
    """A pocketsphinx decoder in alignment mode; one call at a time."""

    def __init__(self) -> None:
        model = pocketsphinx.get_model_path()
        self.decoder = pocketsphinx.Decoder(
            hmm=f"{model}/en-us/en-us",
            dict=f"{model}/en-us/cmudict-en-us.dict",
            lm=None,
            loglevel="FATAL",
        )
        self.frame_rate = int(self.decoder.config["frate"])
        self.lock = threading.Lock()
        # Words added with guessed pronunciations stay in the decoder's dictionary.
        self.guessed: set[str] = set()

    def lookup(self, spelling: str) -> str | None:
        return self.decoder.lookup_word(spelling)

    def add_guess(self, spelling: str, phones: str) -> None:
        self.decoder.add_word(spelling, phones, True)
        self.guessed.add(spelling)

    def segments(self, pcm: bytes, text: str) -> list[_Segment] | None:
        """Align `text` to 16-bit PCM; None when the decoder finds no path."""
        self.decoder.set_align_text(text)
        # The front end's noise estimate carries over between utterances, so
        # without a reset the same audio aligns differently after other calls.
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        result = self.decoder.seg()
        if result is None:
            return None
        segments = []
        for segment in result:
            spelling = _VARIANT_SUFFIX.sub("", segment.word)
            if _NON_WORD.match(spelling):
                continue
            ln_score = math.log(segment.ascore) if segment.ascore > 0 else _MIN_LN_SCORE
            segments.append(_Segment(spelling, segment.start_frame, segment.end_frame, ln_score))
        return segments


@functools.lru_cache(maxsize=1)
def _aligner() -> _SphinxAligner:
    return _SphinxAligner()


def align_words(
    audio_16k: np.ndarray,
    text: str | list[str],
    offset_s: float = 0.0,
    config: AlignConfig | None = None,
) -> Alignment:
    """Align transcript words to mono 16 kHz audio of shape (S,).

    `text` is a transcript string (split on whitespace) or a list of words;
    each becomes one output `Word` with its text as given. Raises DataError
    for audio that is not a finite 1-D array. An empty transcript, silent
    audio or text without English letters returns words spread over the clip
    with confidence 0, ``matched=False`` and a warning that gives the reason.

    NOTE: the whole audio is one decoder utterance, and the cost grows faster
    than its length. Measured CPU per second of audio: 0.02 for 12 s, 0.03 for
    88 s and 0.08 for 616 s of audiobook speech.
    """
    config = config or AlignConfig()
    audio = validate_audio(audio_16k)
    words = _transcript_words(text)
    duration_s = audio.shape[0] / SAMPLE_RATE
    if not words:
        return Alignment([], 0.0, False, ["the transcript is empty, so there is nothing to align"])

    aligner = _aligner()
    with aligner.lock:
        tokens, unpronounceable = _dictionary_tokens(words, aligner)
        warnings: list[str] = []
        if unpronounceable:
            examples = ", ".join(repr(words[index]) for index in unpronounceable[:5])
            warnings.append(
                f"{len(unpronounceable)} of {len(words)} transcript words have no English letters "
                f"({examples}); the English model cannot align them, is the transcript in another language?"
            )
        if not tokens:
            return _fallback(words, duration_s, offset_s, warnings)
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        if rms < config.silence_rms:
            warnings.append(f"the audio is silent (RMS {rms:.1e}), so the transcript cannot be aligned")
            return _fallback(words, duration_s, offset_s, warnings)
        segments, pad_s = _align_with_retries(aligner, audio, tokens, config, warnings)
        frame_rate = aligner.frame_rate

    if segments is None:
        warnings.append(
            f"pocketsphinx found no alignment even with {config.max_retries} padded retries; "
            "the transcript is probably too long for the audio or does not match it"
        )
        return _fallback(words, duration_s, offset_s, warnings)
    return _build_alignment(words, tokens, segments, pad_s, frame_rate, duration_s, offset_s, config, warnings)


def validate_audio(audio: np.ndarray) -> np.ndarray:
    """Return `audio` as float32 of shape (S,); raise DataError for other shapes, no samples, NaN or Inf."""
    if not isinstance(audio, np.ndarray):
        raise DataError(f"audio must be a numpy array of 16 kHz samples, got {type(audio).__name__}")
    if audio.ndim != 1:
        raise DataError(f"audio must be mono with shape (S,), got shape {audio.shape}; average the channels first")
    if audio.size == 0:
        raise DataError("audio is empty (0 samples); decode a longer span of the file")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)):
        raise DataError("audio contains NaN or Inf samples; decode the file again")
    return audio


def _transcript_words(text: str | list[str]) -> list[str]:
    if isinstance(text, str):
        return text.split()
    if isinstance(text, (list, tuple)) and all(isinstance(word, str) for word in text):
        return [word.strip() for word in text if word.strip()]
    raise DataError(f"text must be a string or a list of strings, got {type(text).__name__}")


def _dictionary_tokens(words: list[str], aligner: _SphinxAligner) -> tuple[list[_Token], list[int]]:
    """Map transcript words to dictionary words, adding guessed pronunciations for the rest."""
    tokens: list[_Token] = []
    unpronounceable: list[int] = []
    for index, word in enumerate(words):
        pieces = tokens_for_alignment(word)
        if not pieces:
            unpronounceable.append(index)
            continue
        for piece in pieces:
            spelling = dictionary_form(piece, aligner.lookup)
            guessed = spelling is None or spelling in aligner.guessed
            if spelling is None:
                spelling = piece
                phones = guess_pronunciation(piece, aligner.lookup)
                aligner.add_guess(spelling, phones)
                logger.debug("guessed pronunciation %r for out-of-vocabulary word %r", phones, piece)
            pronunciation = aligner.lookup(spelling) or ""
            tokens.append(_Token(index, spelling, max(1, len(pronunciation.split())), guessed))
    return tokens, unpronounceable


def _align_with_retries(
    aligner: _SphinxAligner,
    audio: np.ndarray,
    tokens: list[_Token],
    config: AlignConfig,
    warnings: list[str],
) -> tuple[list[_Segment] | None, float]:
    """Align, padding the window with low noise on both sides when no path is found."""
    text = " ".join(token.spelling for token in tokens)
    for attempt in range(config.max_retries + 1):
        pad_s = attempt * config.pad_s
        padded = _pad(audio, pad_s)
        segments = aligner.segments(pcm16_bytes(padded), text)
        if segments is not None:
            if attempt:
                warnings.append(f"alignment needed {pad_s:.2f} s of padding on each side")
                logger.info("alignment succeeded after padding %.2f s (attempt %d)", pad_s, attempt + 1)
            return segments, pad_s
        logger.info("alignment found no path with %.2f s padding, retrying", pad_s)
    return None, 0.0


def _pad(audio: np.ndarray, pad_s: float) -> np.ndarray:
    samples = int(round(pad_s * SAMPLE_RATE))
    if samples == 0:
        return audio
    # Low-level noise resembles room silence more than digital zeros do.
    noise = np.random.default_rng(0).normal(0.0, 1e-4, size=(2, samples)).astype(np.float32)
    return np.concatenate([noise[0], audio, noise[1]])


def pcm16_bytes(audio: np.ndarray) -> bytes:
    """Convert float samples in [-1, 1] to the little-endian 16-bit PCM pocketsphinx reads."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _build_alignment(
    words: list[str],
    tokens: list[_Token],
    segments: list[_Segment],
    pad_s: float,
    frame_rate: int,
    duration_s: float,
    offset_s: float,
    config: AlignConfig,
    warnings: list[str],
) -> Alignment:
    """Turn decoder segments into one timed Word per transcript word, with confidences."""
    token_segments = _match_segments(tokens, segments)
    if any(segment is None for segment in token_segments):
        missing = sum(segment is None for segment in token_segments)
        warnings.append(f"pocketsphinx dropped {missing} of {len(tokens)} words; their times are interpolated")

    spans: list[tuple[float, float] | None] = [None] * len(words)
    word_frames = [0] * len(words)
    word_ln_score = [0.0] * len(words)
    word_guessed = [False] * len(words)
    plausible = 0
    for token, segment in zip(tokens, token_segments):
        word_guessed[token.word_index] |= token.guessed
        if segment is None:
            continue
        frames = segment.end_frame - segment.start_frame + 1
        seconds_per_phone = frames / frame_rate / token.phones
        squeezed = frames <= _MIN_FRAMES_PER_PHONE * token.phones
        if not squeezed and config.min_phone_s <= seconds_per_phone <= config.max_phone_s:
            plausible += 1
        start = segment.start_frame / frame_rate - pad_s
        end = (segment.end_frame + 1) / frame_rate - pad_s
        previous = spans[token.word_index]
        spans[token.word_index] = (start, end) if previous is None else (min(previous[0], start), max(previous[1], end))
        word_frames[token.word_index] += frames
        word_ln_score[token.word_index] += segment.ln_score

    total_frames = sum(word_frames)
    frame_score = sum(word_ln_score) / total_frames if total_frames else None
    filled, interpolated = _interpolate_missing(words, spans, duration_s)

    timed: list[Word] = []
    for index, (word, (start, end)) in enumerate(zip(words, filled)):
        start = min(max(start, 0.0), duration_s)
        end = min(max(end, start), duration_s)
        if spans[index] is None:
            confidence = 0.0
        else:
            confidence = _score_confidence(word_ln_score[index] / max(1, word_frames[index]), config)
            if word_guessed[index]:
                confidence *= config.guessed_word_weight
        timed.append(Word(word, offset_s + start, offset_s + end, round(confidence, 4)))

    aligned_fraction = sum(span is not None for span in spans) / len(words)
    # Dropped tokens count as implausible too.
    plausible_fraction = plausible / len(tokens)
    # Time under interpolated words counts at the worst score seen in the clip
    # (or lower), so dropping a poorly scoring word does not raise the clip's score.
    penalty_frames = sum(
        (end - start) * frame_rate for span, (start, end) in zip(spans, filled) if span is None
    )
    if frame_score is None:
        score_term = 0.0
    else:
        worst = min(
            [_unaligned_frame_score(config)]
            + [score / frames for score, frames in zip(word_ln_score, word_frames) if frames]
        )
        penalised = (sum(word_ln_score) + penalty_frames * worst) / (
            total_frames + penalty_frames
        )
        score_term = _score_confidence(penalised, config)
    confidence = score_term * aligned_fraction * plausible_fraction
    matched = confidence >= config.match_threshold
    if not matched:
        warnings.append(
            f"the transcript does not seem to match the audio (confidence {confidence:.2f}, mean frame "
            f"score {frame_score if frame_score is not None else float('nan'):.2f}, "
            f"{plausible_fraction:.0%} of word durations plausible); check that it belongs to this clip "
            "and is English speech"
        )
    return Alignment(timed, round(confidence, 4), matched, warnings, frame_score, interpolated)


def _unaligned_frame_score(config: AlignConfig) -> float:
    """Return the highest frame score that interpolated time counts with (word confidence about 0.02)."""
    return config.score_center - 4.0 * config.score_scale


def _score_confidence(frame_score: float, config: AlignConfig) -> float:
    exponent = -(frame_score - config.score_center) / config.score_scale
    return 1.0 / (1.0 + math.exp(min(exponent, 700.0)))


def _match_segments(tokens: list[_Token], segments: list[_Segment]) -> list[_Segment | None]:
    """Pair each token with its decoder segment, in order; None for tokens the decoder dropped."""
    expected = [token.spelling for token in tokens]
    found = [segment.spelling for segment in segments]
    if expected == found:
        return list(segments)
    paired: list[_Segment | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    for block in matcher.get_matching_blocks():
        for step in range(block.size):
            paired[block.a + step] = segments[block.b + step]
    return paired


def _interpolate_missing(
    words: list[str], spans: list[tuple[float, float] | None], duration_s: float
) -> tuple[list[tuple[float, float]], int]:
    """Fill words without a span between their aligned neighbours, in proportion to their length."""
    filled: list[tuple[float, float]] = []
    missing = 0
    index = 0
    while index < len(words):
        if spans[index] is not None:
            filled.append(spans[index])
            index += 1
            continue
        run_end = index
        while run_end < len(words) and spans[run_end] is None:
            run_end += 1
        gap_start = filled[-1][1] if filled else 0.0
        gap_end = spans[run_end][0] if run_end < len(words) else duration_s
        gap_end = max(gap_end, gap_start)
        lengths = [max(1, len(word)) for word in words[index:run_end]]
        position = gap_start
        for length in lengths:
            width = (gap_end - gap_start) * length / sum(lengths)
            filled.append((position, position + width))
            position += width
        missing += run_end - index
        index = run_end
    return filled, missing


def _fallback(words: list[str], duration_s: float, offset_s: float, warnings: list[str]) -> Alignment:
    """Spread the words over the whole clip by length, with zero confidence."""
    filled, _ = _interpolate_missing(words, [None] * len(words), duration_s)
    timed = [Word(word, offset_s + start, offset_s + end, 0.0) for word, (start, end) in zip(words, filled)]
    for message in warnings:
        logger.warning("%s", message)
    return Alignment(timed, 0.0, False, warnings, None, len(words))
