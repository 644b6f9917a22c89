"""analyze_video on real clips: words, feature sizes, cache hits and missing-modality flags.

The preset here combines MiniLM with a tiny random-weight HuBERT and FAb-Net,
so the audio and face paths run through real encoders in a few seconds.
"""

import threading

import numpy as np
import pytest

from core_model.data.cache import FeatureCache
from core_model.errors import AnalysisCancelled, DataError
from core_model.features.pipeline import analyze_video
from core_model.features.presets import Preset
from core_model.media.decode import probe
from core_model.media.transcripts import normalize_words


@pytest.fixture(scope="module")
def preset(minilm, tiny_hubert, tiny_fabnet):
    return Preset("pipeline-test", text=minilm, audio=tiny_hubert, visual=tiny_fabnet)


@pytest.fixture()
def cache(tmp_path, preset):
    return FeatureCache(tmp_path / "cache", preset.name, preset.dims)


@pytest.fixture(scope="module")
def mosi_run(tmp_path_factory, preset, feature_data):
    """Analyse the MOSI clip twice into one cache; return both results and the cache."""
    cache = FeatureCache(tmp_path_factory.mktemp("mosi") / "cache", preset.name, preset.dims)
    video = feature_data / "Sqr0AcuoNnk_12.mp4"
    transcript = feature_data / "Sqr0AcuoNnk_12.txt"
    steps = []
    first = analyze_video(video, preset, cache, transcript, progress=lambda *step: steps.append(step), threads=1)
    second = analyze_video(video, preset, cache, transcript, threads=1)
    return first, second, cache, steps


def test_mosi_clip_words_match_transcript(mosi_run, feature_data):
    first, _, _, _ = mosi_run
    expected = (feature_data / "Sqr0AcuoNnk_12.txt").read_text().split()
    assert len(first) == 1
    clip = first[0]
    assert [w.text for w in clip.words] == expected
    assert clip.text.split() == expected
    assert not clip.is_machine_draft
    assert clip.alignment_confidence is not None
    assert 0.0 <= clip.alignment_confidence <= 1.0


def test_mosi_word_times_inside_clip(mosi_run):
    clip = mosi_run[0][0]
    starts = [w.start_s for w in clip.words]
    assert starts == sorted(starts)
    assert all(clip.start_s - 1e-6 <= w.start_s <= w.end_s <= clip.end_s + 1e-6 for w in clip.words)


def test_mosi_features_sizes_and_finite(mosi_run, preset, feature_data):
    first, _, cache, _ = mosi_run
    clip = first[0]
    assert dict(clip.missing) == {}
    features = cache.get(clip.feature_key)
    assert features.text.shape == (len(clip.words), preset.dims["text"])
    assert features.audio.shape[1] == preset.dims["audio"]
    # 50 frames per second over the audio stream, which ends at 2.42 s, before the 2.47 s video.
    audio_s = probe(feature_data / "Sqr0AcuoNnk_12.mp4").audio_duration_s
    assert abs(features.audio.shape[0] - 50 * audio_s) <= 2, features.audio.shape
    assert features.visual.shape[1] == preset.dims["visual"]
    assert features.visual.shape[0] >= 1
    for name in ("text", "audio", "visual"):
        assert np.isfinite(features.modality(name)).all(), name


def test_second_run_reads_cache(mosi_run):
    first, second, cache, _ = mosi_run
    assert [c.feature_key for c in second] == [c.feature_key for c in first]
    assert all(c.from_cache for c in second)
    assert not any(c.from_cache for c in first)
    assert second[0].words == first[0].words
    assert cache.keys() == [first[0].feature_key]


def test_progress_reports_every_clip(mosi_run):
    steps = mosi_run[3]
    assert steps[0][:2] == (1, 2)
    assert steps[-1][:2] == (2, 2)


def test_changed_transcript_changes_key(tmp_path, preset, cache, feature_data, mosi_run):
    transcript = tmp_path / "edited.txt"
    transcript.write_text("AND HE IS ONE OF MY LEAST FAVORITE ACTORS EVER")
    clips = analyze_video(feature_data / "Sqr0AcuoNnk_12.mp4", preset, cache, transcript, threads=1)
    assert clips[0].feature_key != mosi_run[0][0].feature_key
    assert len(clips[0].words) == 10


def test_audiobook_has_no_face(preset, cache, feature_data):
    clips = analyze_video(
        feature_data / "noface_audiobook_0-7s.mp4", preset, cache, feature_data / "noface_audiobook_0-7s.srt", threads=1
    )
    assert len(clips) == 2
    for clip in clips:
        assert clip.missing["visual"].startswith("no face found")
        assert "audio" not in clip.missing
        assert "text" not in clip.missing
        features = cache.get(clip.feature_key)
        assert features.visual is None
        assert features.text.shape[0] == len(normalize_words(clip.text))
    assert clips[0].text == "this audiobook is in the public domain"


def test_single_clip_keeps_whole_file(preset, cache, feature_data):
    clips = analyze_video(feature_data / "noface_audiobook_0-7s.mp4", preset, cache,
                          feature_data / "noface_audiobook_0-7s.srt", threads=1, single_clip=True)
    assert len(clips) == 1
    assert clips[0].start_s == 0.0
    assert clips[0].end_s == pytest.approx(7.0, abs=0.05)
    assert clips[0].text == "this audiobook is in the public domain you can find the text version of this"
    assert len(clips[0].words) == 15


def test_no_transcript_gives_machine_draft(preset, cache, feature_data):
    clips = analyze_video(feature_data / "noface_audiobook_0-7s.mp4", preset, cache, threads=1)
    assert clips
    spoken = [clip for clip in clips if clip.words]
    assert spoken, "the draft recognised no words in 7 s of clear speech"
    for clip in clips:
        assert clip.is_machine_draft
    for clip in spoken:
        assert clip.text
        assert any("machine draft" in warning for warning in clip.warnings)
        assert cache.get(clip.feature_key).text.shape == (len(clip.words), preset.dims["text"])


def test_silent_audio_flagged(preset, cache, feature_data):
    clips = analyze_video(feature_data / "face_silent_audio_0-4s.mp4", preset, cache, threads=1)
    assert clips
    for clip in clips:
        assert clip.missing["audio"] == "silent audio"
        assert clip.missing["text"] == "no words"
        assert "visual" not in clip.missing
        features = cache.get(clip.feature_key)
        assert features.audio is None
        assert features.visual.shape[1] == preset.dims["visual"]
        assert np.isfinite(features.visual).all()


def test_cancel_stops_before_clips(preset, cache, feature_data):
    token = threading.Event()
    token.set()
    with pytest.raises(AnalysisCancelled, match="cancelled after 0 of"):
        analyze_video(feature_data / "noface_audiobook_0-7s.mp4", preset, cache,
                      feature_data / "noface_audiobook_0-7s.srt", cancel=token)
    assert cache.keys() == []


def test_cache_of_other_preset_rejected(tmp_path, preset, feature_data):
    other = FeatureCache(tmp_path / "other", "lite", {"audio": 1, "text": 384, "visual": 1})
    with pytest.raises(DataError, match="use another cache folder"):
        analyze_video(feature_data / "Sqr0AcuoNnk_12.mp4", preset, other)


def test_lite_preset_end_to_end(tmp_path, feature_data):
    from core_model.features.presets import get_preset

    lite = get_preset("lite")
    assert lite.missing_encoders() == []
    cache = FeatureCache(tmp_path / "lite", lite.name, lite.dims)
    clips = analyze_video(feature_data / "Sqr0AcuoNnk_12.mp4", lite, cache,
                          feature_data / "Sqr0AcuoNnk_12.txt", threads=1)
    assert len(clips) == 1
    assert dict(clips[0].missing) == {}
    features = cache.get(clips[0].feature_key)
    assert features.text.shape == (9, lite.dims["text"])
    # The lite speech encoder gives 25 frames per second over the 2.42 s audio stream.
    assert abs(features.audio.shape[0] - lite.audio.frame_rate * 2.42) <= 2, features.audio.shape
    assert features.audio.shape[1] == lite.dims["audio"]
    assert features.visual.shape[1] == lite.dims["visual"]
    for name in ("text", "audio", "visual"):
        assert np.isfinite(features.modality(name)).all(), name


def _copy_streams(source, target, kind):
    """Write the ``kind`` ("audio" or "video") streams of ``source`` to ``target`` without re-encoding."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type == kind}
        for packet in inp.demux():
            if packet.stream.index in streams and packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)


def test_audio_only_file_flags_visual(tmp_path, preset, cache, feature_data):
    audio_only = tmp_path / "audio_only.m4a"
    _copy_streams(feature_data / "Sqr0AcuoNnk_12.mp4", audio_only, "audio")
    clips = analyze_video(audio_only, preset, cache, feature_data / "Sqr0AcuoNnk_12.txt", threads=1)
    assert len(clips) == 1
    assert dict(clips[0].missing) == {"visual": "no video stream"}
    assert len(clips[0].words) == 9


def test_video_only_file_flags_audio(tmp_path, preset, cache, feature_data):
    video_only = tmp_path / "video_only.mp4"
    _copy_streams(feature_data / "Sqr0AcuoNnk_12.mp4", video_only, "video")
    clips = analyze_video(video_only, preset, cache, feature_data / "Sqr0AcuoNnk_12.txt", threads=1)
    assert len(clips) == 1
    assert dict(clips[0].missing) == {"audio": "no audio stream"}
    assert [w.text for w in clips[0].words] == "AND HE IS ONE OF MY FAVORITE ACTORS EVER".split()
    assert any("no speech to align" in warning for warning in clips[0].warnings)
