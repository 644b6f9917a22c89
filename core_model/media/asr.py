"""Machine-draft transcripts by pocketsphinx speech recognition, then forced alignment.

`draft_transcript` recognises English speech with the US English acoustic
model, CMUdict and the general trigram language model inside the
pocketsphinx wheel, then aligns the recognised words to the audio with
`align_words`. The result is always marked ``is_machine_draft=True``: the
generic model makes many errors on conversational or noisy speech, so a user
should correct the text before it is used as a transcript.

Confidence is the duration-weighted mean of the per-word posterior
probabilities from pocketsphinx's word lattice (``bestpath``), multiplied by
the fraction of recognised words that the forced alignment placed itself
(the rest are interpolated). Speech
in another language gets English words with low posteriors, so a draft below
`RecognizerConfig.low_confidence` carries a warning that names this cause.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass, field, fields

import numpy as np
import pocketsphinx

from core_model.errors import ConfigError
from core_model.media.align import SAMPLE_RATE, Alignment, align_words, pcm16_bytes, validate_audio
from core_model.media.transcripts import Cue, Transcript, Word

logger = logging.getLogger(__name__)

_NON_WORD = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_VARIANT_SUFFIX = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class RecognizerConfig:
    """Search settings of the recogniser; construct with keywords, `from_dict` or `accurate`.

    The defaults trade accuracy for speed: narrower beams than pocketsphinx
    5.1's own (1e-48 and 7e-29), at most 2000 active HMMs per frame, and no
    second ``fwdflat`` pass. On the 12.24 s MOSI clip and the 23 s audiobook
    cut in tests/data/align they recovered 28 % and 34 % of the reference
    words, against 34 % and 32 % with 3000 HMMs and a word beam of 1e-25. They
    took 0.18 and 0.21 s of CPU per second of audio against 0.29 and 0.30, on
    a 2-core machine shared with other jobs (bench/bench_align.py measures
    it). A beam of 1e-30 broke recognition of the MOSI clip.
    `accurate()` restores pocketsphinx's defaults, which recognised the MOSI
    clip better but ran slower than real time on the same machine.
    `max_chunk_s` caps one decoder utterance. Longer audio is cut at its
    quietest 10 ms frame in the last `chunk_search_s` seconds of each chunk.
    `low_confidence` is the draft confidence below which a warning is added,
    and audio with an RMS below `silence_rms` is not recognised at all (the
    decoder otherwise makes up a word or two from digital silence).
    """

    beam: float = 1e-40
    pbeam: float = 1e-40
    wbeam: float = 1e-20
    pl_window: int = 10
    maxhmmpf: int = 2000
    fwdflat: bool = False
    max_chunk_s: float = 30.0
    chunk_search_s: float = 5.0
    low_confidence: float = 0.6
    silence_rms: float = 1e-4

    @classmethod
    def accurate(cls) -> RecognizerConfig:
        """Return pocketsphinx 5.1's default search settings: slower, fewer errors."""
        return cls(beam=1e-48, pbeam=1e-48, wbeam=7e-29, pl_window=5, maxhmmpf=30000, fwdflat=True)

    def __post_init__(self) -> None:
        if not 0 < self.chunk_search_s < self.max_chunk_s:
            raise ConfigError(
                f"chunk_search_s must be > 0 and < max_chunk_s, got {self.chunk_search_s!r} and {self.max_chunk_s!r}"
            )
        for name in ("beam", "pbeam", "wbeam"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in (0, 1), got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, values: dict) -> RecognizerConfig:
        """Build a config from a mapping; unknown keys raise ConfigError."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown RecognizerConfig keys {unknown}; valid keys are {sorted(known)}")
        return cls(**values)


@dataclass
class DraftTranscript:
    """Recognised text with aligned word times; a machine draft for a person to correct.

    `words` carry times in seconds on the media's clock and per-word
    confidences in [0, 1]. `alignment` is the forced alignment of the
    recognised words (None when nothing was recognised).
    """

    text: str
    words: list[Word]
    confidence: float
    warnings: list[str] = field(default_factory=list)
    alignment: Alignment | None = None
    is_machine_draft: bool = True

    def to_transcript(self) -> Transcript:
        """Wrap the draft as a one-cue `Transcript` marked as a machine draft."""
        if self.words:
            cue = Cue(self.words[0].start_s, self.words[-1].end_s, self.text, list(self.words))
            cues = [cue]
        else:
            cues = []
        return Transcript(
            cues=cues,
            source_path=None,
            format="asr",
            is_machine_draft=True,
            language="en",
            notes=list(self.warnings),
        )


@dataclass
class _Recognised:
    spelling: str
    start_s: float
    end_s: float
    posterior: float


class _SphinxRecognizer:
    """A pocketsphinx decoder with the trigram language model; one call at a time."""

    def __init__(self, config: RecognizerConfig) -> None:
        model = pocketsphinx.get_model_path()
        self.decoder = pocketsphinx.Decoder(
            hmm=f"{model}/en-us/en-us",
            dict=f"{model}/en-us/cmudict-en-us.dict",
            lm=f"{model}/en-us/en-us.lm.bin",
            beam=config.beam,
            pbeam=config.pbeam,
            wbeam=config.wbeam,
            pl_window=config.pl_window,
            maxhmmpf=config.maxhmmpf,
            fwdflat=config.fwdflat,
            bestpath=True,
            loglevel="FATAL",
        )
        self.frame_rate = int(self.decoder.config["frate"])
        self.lock = threading.Lock()

    def recognise(self, audio: np.ndarray, start_s: float) -> list[_Recognised]:
        # The front end's noise estimate carries over between utterances, so
        # without a reset the same audio aligns differently after other calls.
        self.decoder.reinit_feat()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm16_bytes(audio), full_utt=True)
        self.decoder.end_utt()
        result = self.decoder.seg()
        words: list[_Recognised] = []
        for segment in result or []:
            spelling = _VARIANT_SUFFIX.sub("", segment.word)
            if _NON_WORD.match(spelling):
                continue
            words.append(
                _Recognised(
                    spelling,
                    start_s + segment.start_frame / self.frame_rate,
                    start_s + (segment.end_frame + 1) / self.frame_rate,
                    min(1.0, max(0.0, float(segment.prob))),
                )
            )
        return words


@functools.lru_cache(maxsize=2)
def _recognizer(config: RecognizerConfig) -> _SphinxRecognizer:
    return _SphinxRecognizer(config)


def draft_transcript(
    audio_16k: np.ndarray,
    offset_s: float = 0.0,
    config: RecognizerConfig | None = None,
) -> DraftTranscript:
    """Recognise mono 16 kHz speech of shape (S,) and align the recognised words.

    Raises DataError for audio that is not a finite 1-D array. Silence or
    speech without recognisable words returns an empty draft with confidence
    0 and a warning.
    """
    config = config or RecognizerConfig()
    audio = validate_audio(audio_16k)
    duration_s = audio.shape[0] / SAMPLE_RATE
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms < config.silence_rms:
        logger.warning("draft transcript skipped: %.1f s of silent audio (RMS %.1e)", duration_s, rms)
        return DraftTranscript("", [], 0.0, [f"the audio is silent (RMS {rms:.1e}), so there is no speech to transcribe"])

    recognizer = _recognizer(config)
    recognised: list[_Recognised] = []
    with recognizer.lock:
        for start, stop in _chunks(audio, config):
            recognised.extend(recognizer.recognise(audio[start:stop], start / SAMPLE_RATE))

    warnings: list[str] = []
    if not recognised:
        warnings.append("pocketsphinx recognised no English words in this audio; transcribe it by hand")
        logger.warning("draft transcript is empty for %.1f s of audio", duration_s)
        return DraftTranscript("", [], 0.0, warnings, None)

    spellings = [word.spelling for word in recognised]
    alignment = align_words(audio, spellings, offset_s=offset_s)
    durations = [max(word.end_s - word.start_s, 1e-3) for word in recognised]
    posterior = sum(word.posterior * duration for word, duration in zip(recognised, durations)) / sum(durations)
    confidence = posterior * _aligned_fraction(alignment)

    # Times come from the forced alignment and confidences from the lattice posteriors.
    words = [
        Word(aligned.text, aligned.start_s, aligned.end_s, round(word.posterior, 4))
        for aligned, word in zip(alignment.words, recognised)
    ]
    if confidence < config.low_confidence:
        warnings.append(
            f"the draft transcript has low confidence ({confidence:.2f} < {config.low_confidence}): the speech "
            "may not be English, or may be noisy or overlapped; check every word before using it"
        )
        logger.warning("low-confidence draft transcript: %.2f (posterior %.2f)", confidence, posterior)
    return DraftTranscript(" ".join(spellings), words, round(confidence, 4), warnings, alignment)


def _aligned_fraction(alignment: Alignment) -> float:
    """Fraction of words that pocketsphinx aligned itself rather than interpolated."""
    if not alignment.words:
        return 0.0
    return 1.0 - alignment.interpolated / len(alignment.words)


def _chunks(audio: np.ndarray, config: RecognizerConfig) -> list[tuple[int, int]]:
    """Cut audio into decoder utterances of at most `max_chunk_s`, at quiet 10 ms frames."""
    frame = SAMPLE_RATE // 100
    limit = int(config.max_chunk_s * SAMPLE_RATE)
    search = int(config.chunk_search_s * SAMPLE_RATE)
    bounds: list[tuple[int, int]] = []
    start = 0
    while audio.shape[0] - start > limit:
        window = audio[start + limit - search : start + limit]
        frames = window[: (window.shape[0] // frame) * frame].reshape(-1, frame)
        energy = np.mean(np.square(frames, dtype=np.float64), axis=1)
        cut = start + limit - search + int(np.argmin(energy)) * frame + frame // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, audio.shape[0]))
    if len(bounds) > 1:
        logger.info("recognising %d chunks of at most %.0f s", len(bounds), config.max_chunk_s)
    return bounds


def word_overlap(hypothesis: list[str], reference: list[str]) -> float:
    """Return the fraction of reference words matched in order by the hypothesis (1 - deletion share).

    Counts the longest common subsequence of lower-case words, so it measures
    how much of the true text a draft recovered, not its insertions.
    """
    if not reference:
        return 0.0
    hyp = [word.lower() for word in hypothesis]
    ref = [word.lower() for word in reference]
    previous = [0] * (len(hyp) + 1)
    for ref_word in ref:
        current = [0] * (len(hyp) + 1)
        for column, hyp_word in enumerate(hyp, start=1):
            if ref_word == hyp_word:
                current[column] = previous[column - 1] + 1
            else:
                current[column] = max(previous[column], current[column - 1])
        previous = current
    return previous[-1] / len(ref)

