"""Voice activity on real speech and silence, and clip boundaries from cues or speech."""

import numpy as np
import pytest
import torch

from core_model.media.decode import decode_audio
from core_model.media.transcripts import Cue, Transcript, read_transcript
from core_model.media.vad import segment_clips, speech_segments

from .helpers import AUDIOBOOK, AUDIOBOOK_SRT, MOSI_LONG, SILENT

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def mosi_audio() -> np.ndarray:
    return decode_audio(MOSI_LONG)


def test_speech_segments_mosi(mosi_audio):
    segments = speech_segments(mosi_audio)
    assert segments
    assert all(0 <= start < end <= len(mosi_audio) / 16000 for start, end in segments)
    assert all(later[0] >= earlier[1] for earlier, later in zip(segments, segments[1:]))
    speech_s = sum(end - start for start, end in segments)
    # The reviewer talks for nearly the whole clip.
    assert speech_s > 0.7 * len(mosi_audio) / 16000


def test_speech_segments_silence():
    assert speech_segments(decode_audio(SILENT)) == []
    assert speech_segments(np.zeros(100, dtype=np.float32)) == []


def test_speech_segments_keeps_thread_count(mosi_audio):
    before = torch.get_num_threads()
    speech_segments(mosi_audio[:16000])
    assert torch.get_num_threads() == before


def test_speech_segments_rejects_stereo():
    with pytest.raises(ValueError, match="mono"):
        speech_segments(np.zeros((2, 16000), dtype=np.float32))


def test_audiobook_pauses_split_speech():
    audio = decode_audio(AUDIOBOOK)
    segments = speech_segments(audio)
    # The reading pauses between sentences (captions at 12.8 s and 13.2 s).
    assert len(segments) >= 2
    assert segments[0][0] == pytest.approx(1.6, abs=0.3)
    assert any(start > 12.5 for start, _ in segments)


def test_clips_from_transcript_cues():
    transcript = read_transcript(AUDIOBOOK_SRT)
    clips = segment_clips(88.08, transcript, max_clip_s=15.0)
    assert len(clips) >= 30
    assert clips[0] == pytest.approx((1.599, 3.919))
    assert all(end - start <= 15.0 + 1e-9 for start, end in clips)
    assert all(later[0] >= earlier[1] for earlier, later in zip(clips, clips[1:]))


def test_clips_join_punctuated_sentences():
    cues = [
        Cue(0.0, 2.0, "The film starts slowly,"),
        Cue(2.0, 4.0, "but the ending is great."),
        Cue(4.5, 6.0, "I loved it!"),
    ]
    clips = segment_clips(6.0, Transcript(cues, None, "srt"))
    assert clips == [(0.0, 4.0), (4.5, 6.0)]


def test_clips_from_voice_activity(mosi_audio):
    clips = segment_clips(12.3, audio=mosi_audio, max_clip_s=5.0)
    assert len(clips) >= 3
    assert all(end - start <= 5.0 + 1e-9 for start, end in clips)
    assert clips[0][0] < 0.5


def test_clips_without_speech_are_empty():
    assert segment_clips(8.0, audio=decode_audio(SILENT)) == []


def test_clips_fixed_windows_without_sources():
    clips = segment_clips(40.0, max_clip_s=15.0)
    assert len(clips) == 3
    assert clips[0][0] == 0.0
    assert clips[-1][1] == 40.0


def test_clips_untimed_transcript_falls_back_to_audio(mosi_audio):
    untimed = Transcript([Cue(None, None, "NOW IM NOT EVEN GONNA")], None, "text")
    assert segment_clips(12.3, untimed, mosi_audio) == segment_clips(12.3, None, mosi_audio)


def test_clips_short_cue_joined():
    cues = [Cue(0.0, 3.0, "a long first line"), Cue(3.1, 3.4, "ok"), Cue(6.0, 9.0, "far later")]
    clips = segment_clips(10.0, Transcript(cues, None, "srt"), min_clip_s=1.0)
    assert clips == [(0.0, 3.4), (6.0, 9.0)]


def test_clips_reject_bad_arguments():
    with pytest.raises(ValueError, match="duration_s"):
        segment_clips(0.0)
    with pytest.raises(ValueError, match="max_clip_s"):
        segment_clips(10.0, max_clip_s=1.0, min_clip_s=2.0)


def test_long_speech_cut_at_pauses(mosi_audio):
    clips = segment_clips(12.3, audio=mosi_audio, max_clip_s=4.0)
    frame = 320  # 20 ms
    energy = np.array([float(np.mean(mosi_audio[k : k + frame] ** 2)) for k in range(0, len(mosi_audio) - frame, frame)])
    for (_, cut), (start, _) in zip(clips, clips[1:]):
        assert cut - start < 1e-9  # consecutive parts of one speech span touch
        cut_energy = energy[int(cut * 16000) // frame]
        assert cut_energy < np.median(energy), f"cut at {cut:.2f} s is louder than the median frame"
    assert all(end - start <= 4.0 + 1e-9 for start, end in clips)


def test_long_cue_split_with_short_audio():
    """Audio that ends early (a shorter audio track) still gives clips within the limit."""
    transcript = Transcript([Cue(0.0, 30.0, "one long caption")], None, "srt")
    audio = np.zeros(16000 * 10, dtype=np.float32)
    clips = segment_clips(30.0, transcript, audio, max_clip_s=8.0)
    assert clips[0][0] == 0.0
    assert clips[-1][1] == 30.0
    assert all(end - start <= 8.0 + 1e-9 for start, end in clips)
