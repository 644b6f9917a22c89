"""Measure forced alignment and draft transcripts: mismatch detection and CPU time.

Usage: ``python bench/bench_align.py [--quick] [--data DIR]``.

Mismatch detection aligns real clips to their own transcript and to another
clip's, then prints per group (corpus x own or other text) the frame scores
and the share of pairs that `align_words` classified correctly. These are the
numbers behind `AlignConfig`'s score and threshold defaults. The corpora are
the MOSI sample clips and the audiobook cues in tests/data/align. When DIR
(default ../shared/data) has them, the full audiobook replaces the cut, and
RAVDESS speech from ``corpora/ravdess_speech_16k`` is added (every 9th file,
or every 36th with --quick).

Speed is CPU time per second of audio (real-time factor), measured with
``time.process_time`` so that other jobs on a shared machine inflate it less
than wall time.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core_model.media.align import align_words  # noqa: E402
from core_model.media.asr import draft_transcript, word_overlap  # noqa: E402
from core_model.media.decode import decode_audio  # noqa: E402
from tests.media.align_helpers import (  # noqa: E402
    ALIGN_DATA,
    AUDIOBOOK,
    AUDIOBOOK_SRT,
    MOSI_CLIPS,
    mosi,
    srt_cues,
)

RAVDESS_SENTENCES = {"01": "kids are talking by the door", "02": "dogs are sitting by the door"}


def cue_pairs(audio: np.ndarray, cues: list[tuple[float, float, str]]) -> list[tuple[str, bool, np.ndarray, str]]:
    """Pair each cue's audio (padded by 0.2 s) with its own text and with the text of the cue 7 places on."""
    pairs = []
    for index, (start, end, text) in enumerate(cues):
        window = audio[int(max(0.0, start - 0.2) * 16000) : int((end + 0.2) * 16000)]
        pairs.append(("audiobook", True, window, text))
        pairs.append(("audiobook", False, window, cues[(index + 7) % len(cues)][2]))
    return pairs


def collect_pairs(data: Path, quick: bool) -> list[tuple[str, bool, np.ndarray, str]]:
    clips = {clip: mosi(clip) for clip in MOSI_CLIPS}
    pairs = [
        ("mosi", own == other, clips[own][0], clips[other][1])
        for own in MOSI_CLIPS
        for other in MOSI_CLIPS
    ]
    full_book = data / "test_media" / "noface_audiobook.mp4"
    if full_book.exists():
        pairs += cue_pairs(decode_audio(full_book), srt_cues(full_book.with_suffix(".srt")))
    else:
        pairs += cue_pairs(decode_audio(AUDIOBOOK), srt_cues(AUDIOBOOK_SRT))
    ravdess = sorted((data / "corpora" / "ravdess_speech_16k").glob("Actor_*/*.flac"))
    for path in ravdess[:: 36 if quick else 9]:
        statement = path.stem.split("-")[4]
        other = "02" if statement == "01" else "01"
        audio = decode_audio(path)
        pairs.append(("ravdess", True, audio, RAVDESS_SENTENCES[statement]))
        pairs.append(("ravdess", False, audio, RAVDESS_SENTENCES[other]))
    return pairs


def report_detection(pairs: list[tuple[str, bool, np.ndarray, str]]) -> None:
    rows: dict[tuple[str, bool], list] = {}
    for corpus, own_text, audio, text in pairs:
        result = align_words(audio, text)
        rows.setdefault((corpus, own_text), []).append(result)
    print(f"{'corpus':10} {'text':6} {'pairs':>5} {'frame score min/median/max':>28} {'correct':>8}")
    accuracies = []
    for (corpus, own_text), results in rows.items():
        scores = [result.frame_score for result in results if result.frame_score is not None]
        correct = sum(result.matched == own_text for result in results) / len(results)
        accuracies.append(correct)
        spread = f"{min(scores):.2f} / {statistics.median(scores):.2f} / {max(scores):.2f}" if scores else "-"
        print(f"{corpus:10} {'own' if own_text else 'other':6} {len(results):5d} {spread:>28} {correct:8.2f}")
    print(f"mean share correct over groups: {statistics.mean(accuracies):.3f}")


def report_speed() -> None:
    audio, text = mosi("0h-zjBukYpk_2")
    book = decode_audio(AUDIOBOOK)
    reference = " ".join(cue_text for _, _, cue_text in srt_cues(AUDIOBOOK_SRT)).split()
    align_words(audio[:16000], "now")  # loads the alignment decoder
    draft_transcript(audio[:16000])  # loads the language model
    print(f"{'step':26} {'audio s':>8} {'cpu s':>7} {'RTF':>6} {'word overlap':>13}")
    for name, clip, transcript in (("align MOSI 0h-zjBukYpk_2", audio, text), ("align audiobook cut", book, reference)):
        started = time.process_time()
        align_words(clip, transcript)
        cpu = time.process_time() - started
        seconds = clip.shape[0] / 16000
        print(f"{name:26} {seconds:8.2f} {cpu:7.2f} {cpu / seconds:6.3f} {'-':>13}")
    for name, clip, words in (
        ("draft MOSI 0h-zjBukYpk_2", audio, text.lower().split()),
        ("draft audiobook cut", book, reference),
    ):
        started = time.process_time()
        draft = draft_transcript(clip)
        cpu = time.process_time() - started
        seconds = clip.shape[0] / 16000
        overlap = word_overlap(draft.text.split(), words)
        print(f"{name:26} {seconds:8.2f} {cpu:7.2f} {cpu / seconds:6.3f} {overlap:13.2f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use every 36th RAVDESS file instead of every 9th")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared data folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(f"fixtures: {ALIGN_DATA}")
    report_detection(collect_pairs(args.data, args.quick))
    report_speed()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
