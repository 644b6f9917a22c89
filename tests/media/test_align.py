"""Forced alignment on real speech: MOSI clips, a LibriVox audiobook cut and Mandarin."""

import time

import numpy as np
import pytest

from core_model.errors import ConfigError, DataError
from core_model.media import align as align_module
from core_model.media.align import AlignConfig, align_words
from core_model.media.lexicon import (
    dictionary_form,
    guess_pronunciation,
    number_words,
    tokens_for_alignment,
)

from .align_helpers import (
    AUDIOBOOK,
    AUDIOBOOK_SRT,
    AUDIOBOOK_VTT,
    MANDARIN,
    MOSI_CLIPS,
    decode_16k,
    mosi,
    srt_cues,
    vtt_word_starts,
)


@pytest.fixture(scope="module")
def mosi_clips():
    return {clip: mosi(clip) for clip in MOSI_CLIPS}


@pytest.fixture(scope="module")
def audiobook():
    return decode_16k(AUDIOBOOK)


def test_mosi_words_follow_transcript(mosi_clips):
    audio, text = mosi_clips["0h-zjBukYpk_2"]
    duration = audio.shape[0] / 16000
    result = align_words(audio, text)

    assert [word.text for word in result.words] == text.split()
    assert result.matched, result.warnings
    assert result.confidence > 0.6
    assert result.interpolated == 0
    starts = [word.start_s for word in result.words]
    assert starts == sorted(starts)
    for word in result.words:
        assert 0.0 <= word.start_s < word.end_s <= duration + 1e-6, word
        assert word.end_s - word.start_s < 1.5, word
        assert 0.0 <= word.confidence <= 1.0
    assert result.words[0].start_s < 0.5
    assert result.words[-1].end_s > duration - 1.5
    # Word pairs are in order without overlap.
    for previous, current in zip(result.words, result.words[1:]):
        assert current.start_s >= previous.end_s - 1e-6


def test_offset_shifts_word_times(mosi_clips):
    audio, text = mosi_clips["Sqr0AcuoNnk_12"]
    plain = align_words(audio, text)
    shifted = align_words(audio, text.split(), offset_s=100.0)

    for word, moved in zip(plain.words, shifted.words):
        assert moved.start_s == pytest.approx(word.start_s + 100.0)
        assert moved.end_s == pytest.approx(word.end_s + 100.0)
    assert shifted.confidence == plain.confidence


@pytest.mark.parametrize("clip", MOSI_CLIPS)
def test_other_clips_text_is_flagged(mosi_clips, clip):
    audio, text = mosi_clips[clip]
    right = align_words(audio, text)
    assert right.matched, (clip, right.warnings)

    for other in MOSI_CLIPS:
        if other == clip:
            continue
        wrong_text = mosi_clips[other][1]
        wrong = align_words(audio, wrong_text)
        assert not wrong.matched, (clip, other, wrong.confidence)
        assert wrong.confidence < right.confidence, (clip, other)
        assert wrong.warnings, (clip, other)
        assert [word.text for word in wrong.words] == wrong_text.split()


def test_too_long_text_retries_then_warns(mosi_clips):
    short_audio, _ = mosi_clips["0h-zjBukYpk_24"]
    _, long_text = mosi_clips["0h-zjBukYpk_2"]
    result = align_words(short_audio, long_text, config=AlignConfig(max_retries=2))

    assert not result.matched
    assert result.confidence < 0.1
    assert len(result.words) == len(long_text.split())
    assert any("padd" in message for message in result.warnings), result.warnings


def test_audiobook_cues_align(audiobook):
    cues = srt_cues(AUDIOBOOK_SRT)
    aligned = []
    matched = 0
    for start, end, text in cues:
        window_start = max(0.0, start - 0.2)
        window = audiobook[int(window_start * 16000) : int((end + 0.2) * 16000)]
        result = align_words(window, text, offset_s=window_start)
        assert [word.text for word in result.words] == text.split()
        for word in result.words:
            assert window_start - 1e-6 <= word.start_s <= word.end_s <= end + 0.2 + 1e-6, word
        matched += result.matched
        aligned.extend(result.words)

    # Measured: 5 of the 7 cues match; the URL cue and the one cut mid-word by
    # the caption boundary score lower.
    assert matched >= 5
    reference = vtt_word_starts(AUDIOBOOK_VTT)
    assert [word.text for word in aligned] == [word for word, _ in reference]
    errors = [abs(word.start_s - start) for word, (_, start) in zip(aligned, reference)]
    # Against YouTube's word times: median 0.03 s, 90th percentile 0.14 s measured.
    assert np.median(errors) < 0.1
    assert np.percentile(errors, 90) < 0.3


def test_audiobook_whole_cut_aligns(audiobook):
    text = " ".join(cue_text for _, _, cue_text in srt_cues(AUDIOBOOK_SRT))
    result = align_words(audiobook, text)

    assert result.matched, result.warnings
    assert len(result.words) == len(text.split())
    reference = vtt_word_starts(AUDIOBOOK_VTT)
    errors = [abs(word.start_s - start) for word, (_, start) in zip(result.words, reference)]
    assert np.median(errors) < 0.1


def test_mandarin_with_chinese_text_warns():
    audio = decode_16k(MANDARIN)
    result = align_words(audio, "我们 今天 去 看 电影")

    assert not result.matched
    assert result.confidence == 0.0
    assert len(result.words) == 5
    assert any("another language" in message for message in result.warnings), result.warnings


def test_mandarin_with_english_text_is_flagged(mosi_clips):
    audio = decode_16k(MANDARIN)
    for clip in MOSI_CLIPS:
        result = align_words(audio, mosi_clips[clip][1])
        assert not result.matched, (clip, result.confidence)
        assert result.confidence < 0.2, clip


def test_mixed_script_transcript_keeps_every_word(mosi_clips):
    audio, text = mosi_clips["Sqr0AcuoNnk_12"]
    words = text.split()
    mixed = words[:4] + ["电影"] + words[4:]
    result = align_words(audio, mixed)

    assert [word.text for word in result.words] == mixed
    assert result.words[4].confidence == 0.0
    assert result.interpolated == 1
    assert result.words[3].end_s <= result.words[4].start_s <= result.words[5].start_s
    assert any("no English letters" in message for message in result.warnings)


def test_silent_audio_warns():
    result = align_words(np.zeros(16000 * 2, dtype=np.float32), "hello world")

    assert not result.matched
    assert result.confidence == 0.0
    assert [word.text for word in result.words] == ["hello", "world"]
    assert any("silent" in message for message in result.warnings)


def test_empty_transcript_warns(mosi_clips):
    audio, _ = mosi_clips["Sqr0AcuoNnk_12"]
    result = align_words(audio, "   ")

    assert result.words == []
    assert not result.matched
    assert result.warnings


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros((2, 16000), dtype=np.float32), "mono"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.full(16000, np.nan, dtype=np.float32), "NaN"),
        ([0.0] * 16000, "numpy array"),
    ],
)
def test_invalid_audio_raises(audio, message):
    with pytest.raises(DataError, match=message):
        align_words(audio, "hello")


def test_invalid_text_raises():
    with pytest.raises(DataError, match="list of strings"):
        align_words(np.zeros(16000, dtype=np.float32), ["hello", 3])


def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="padding"):
        AlignConfig.from_dict({"padding": 0.5})
    with pytest.raises(ConfigError, match="match_threshold"):
        AlignConfig(match_threshold=2.0)
    assert AlignConfig.from_dict({"pad_s": 0.5}).pad_s == 0.5


def test_alignment_cpu_time_is_small(mosi_clips):
    audio, text = mosi_clips["0h-zjBukYpk_2"]
    align_words(audio, text)  # loads the decoder
    started = time.process_time()
    align_words(audio, text)
    cpu_s = time.process_time() - started

    # Measured 0.27 s of CPU for this 12.24 s clip on a shared 2-core machine.
    assert cpu_s < 1.0, f"aligning 12.24 s took {cpu_s:.2f} s of CPU"


def test_contractions_map_to_dictionary():
    lookup = {"i'm": "AY M", "im": "IH M", "don't": "D OW N T", "that's": "DH AE T S"}.get
    assert dictionary_form("im", lookup) == "i'm"
    assert dictionary_form("dont", lookup) == "don't"
    assert dictionary_form("thats", lookup) == "that's"
    assert dictionary_form("zzyzx", lookup) is None


def test_tokens_split_urls_numbers_and_accents():
    assert tokens_for_alignment("www.marxists.org") == ["www", "dot", "marxists", "dot", "org"]
    assert tokens_for_alignment("42") == ["forty", "two"]
    assert tokens_for_alignment("2.5") == ["two", "point", "five"]
    assert tokens_for_alignment("Café,") == ["cafe"]
    assert tokens_for_alignment("U.S.") == ["u", "s"]
    assert tokens_for_alignment("电影") == []
    assert number_words(1999) == "one thousand nine hundred ninety nine"


def test_guessed_pronunciations():
    lookup = {"audio": "AA D IY OW", "book": "B UH K"}.get
    assert guess_pronunciation("audiobook", lookup) == "AA D IY OW B UH K"
    assert guess_pronunciation("www", lookup) == " ".join(["D AH B AH L Y UW"] * 3)
    assert guess_pronunciation("chip", lookup) == "CH IH P"
    assert guess_pronunciation("cite", lookup) == "S IH T"
    with pytest.raises(ValueError, match="no letters"):
        guess_pronunciation("'", lookup)


def test_dropped_word_is_interpolated(mosi_clips):
    audio, text = mosi_clips["Sqr0AcuoNnk_12"]
    words = text.split()
    aligner = align_module._aligner()
    tokens, _ = align_module._dictionary_tokens(words, aligner)
    segments = aligner.segments(align_module.pcm16_bytes(audio), " ".join(token.spelling for token in tokens))
    duration = audio.shape[0] / 16000
    config = AlignConfig()
    full = align_module._build_alignment(words, tokens, segments, 0.0, 100, duration, 0.0, config, [])

    warnings: list[str] = []
    dropped = segments[:4] + segments[5:]
    partial = align_module._build_alignment(words, tokens, dropped, 0.0, 100, duration, 0.0, config, warnings)

    assert [word.text for word in partial.words] == words
    assert partial.interpolated == 1
    assert partial.words[4].confidence == 0.0
    assert partial.words[3].end_s <= partial.words[4].start_s
    assert partial.words[4].end_s <= partial.words[5].start_s
    assert partial.confidence < full.confidence
    assert any("dropped 1 of" in message for message in warnings)


def test_guessed_word_is_stable_across_calls(audiobook):
    start, end, text = srt_cues(AUDIOBOOK_SRT)[0]
    window = audiobook[int((start - 0.2) * 16000) : int((end + 0.2) * 16000)]
    first = align_words(window, text)
    second = align_words(window, text)

    # "audiobook" is not in CMUdict, so its pronunciation is guessed as audio + book.
    assert first.words[1].text == "audiobook"
    assert first.words[1].confidence <= AlignConfig().guessed_word_weight
    assert second.words == first.words
    assert second.confidence == first.confidence
