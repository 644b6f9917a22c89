"""Reading the audiobook's real SRT and WebVTT, ELAN, label.csv and text in several encodings."""

import pytest

from core_model.errors import TranscriptError
from core_model.media.transcripts import Cue, Transcript, normalize_words, read_transcript

from .helpers import AUDIOBOOK_SRT, AUDIOBOOK_VTT, LABEL_CSV, MEDIA

pytestmark = pytest.mark.timeout(60)

SAMPLE_SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\nCafé crème, naïve façade\n\n"
    "2\n00:00:02,500 --> 00:00:04,000\nIt’s “quoted” — fine\n"
)


def test_srt_audiobook():
    transcript = read_transcript(AUDIOBOOK_SRT)
    assert transcript.format == "srt"
    assert len(transcript.cues) == 37
    first = transcript.cues[0]
    assert (first.start_s, first.end_s) == pytest.approx((1.599, 3.919))
    assert first.text == "this audiobook is in the public domain"
    assert transcript.cues[-1].text == "languages"
    assert transcript.cues[-1].end_s == pytest.approx(87.84)
    assert transcript.has_times
    assert transcript.words == []


def test_vtt_audiobook_inline_word_times():
    transcript = read_transcript(AUDIOBOOK_VTT)
    assert transcript.format == "vtt"
    assert transcript.language == "en"
    assert len(transcript.cues) == 37
    words = transcript.words
    assert [word.text for word in words[:3]] == ["this", "audiobook", "is"]
    assert words[0].start_s == pytest.approx(1.599)  # the cue start
    assert words[1].start_s == pytest.approx(1.92)  # <00:00:01.920>
    assert words[1].end_s == pytest.approx(2.48)  # the next word's start
    starts = [word.start_s for word in words]
    assert starts == sorted(starts)
    assert all(word.end_s >= word.start_s for word in words)


def test_vtt_and_srt_agree():
    srt = read_transcript(AUDIOBOOK_SRT)
    vtt = read_transcript(AUDIOBOOK_VTT)
    assert [cue.text for cue in vtt.cues] == [cue.text for cue in srt.cues]
    for srt_cue, vtt_cue in zip(srt.cues, vtt.cues):
        assert vtt_cue.start_s == pytest.approx(srt_cue.start_s, abs=0.02)
    assert [word.text for word in vtt.words] == srt.text.split()


@pytest.mark.parametrize(
    "encoding, newline",
    [("utf-8", "\n"), ("utf-8-sig", "\n"), ("utf-16", "\n"), ("utf-16-be", "\n"), ("utf-8", "\r\n"), ("cp1252", "\r\n")],
)
def test_srt_encodings(tmp_path, encoding, newline):
    path = tmp_path / "sample.srt"
    data = SAMPLE_SRT.replace("\n", newline).encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # big-endian with its byte order mark
    path.write_bytes(data)
    transcript = read_transcript(path)
    assert [cue.text for cue in transcript.cues] == ["Café crème, naïve façade", "It’s “quoted” — fine"]
    assert transcript.cues[1].start_s == pytest.approx(2.5)


def test_caller_encoding_wins(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Ça va très bien".encode("latin-1"))
    assert read_transcript(path, encoding="latin-1").text == "Ça va très bien"
    with pytest.raises(TranscriptError, match="utf-16"):
        read_transcript(path, encoding="utf-16")


def test_plain_text_single_untimed_cue(tmp_path):
    path = tmp_path / "speech.txt"
    path.write_text("NOW IM NOT EVEN GONNA\nSUGAR COAT THIS\n", encoding="utf-8")
    transcript = read_transcript(path)
    assert transcript.format == "text"
    assert transcript.cues == [Cue(None, None, "NOW IM NOT EVEN GONNA SUGAR COAT THIS")]
    assert not transcript.has_times


def test_mosi_transcript_file():
    transcript = read_transcript(MEDIA / "0h-zjBukYpk_1.txt")
    assert normalize_words(transcript.text) == "now the title of the movie basically says it all".split()


def test_format_sniffed_without_extension(tmp_path):
    path = tmp_path / "captions"
    path.write_bytes(AUDIOBOOK_VTT.read_bytes())
    assert read_transcript(path).format == "vtt"
    path.write_bytes(AUDIOBOOK_SRT.read_bytes())
    assert read_transcript(path).format == "srt"


def test_label_csv_rows():
    transcript = read_transcript(LABEL_CSV, video_id="0h-zjBukYpk")
    assert transcript.format == "label_csv"
    assert [cue.clip_id for cue in transcript.cues] == ["1", "2", "24"]
    assert transcript.cues[0].text == "NOW THE TITLE OF THE MOVIE BASICALLY SAYS IT ALL"
    assert transcript.cues[0].start_s is None


def test_label_csv_needs_video_id():
    with pytest.raises(TranscriptError, match="video_id"):
        read_transcript(LABEL_CSV)
    with pytest.raises(TranscriptError, match="no rows"):
        read_transcript(LABEL_CSV, video_id="missing")


def test_label_csv_missing_columns(tmp_path):
    path = tmp_path / "label.csv"
    path.write_text("id,sentence\n1,hello\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="clip_id"):
        read_transcript(path)


def test_overlapping_and_empty_cues(tmp_path):
    path = tmp_path / "messy.srt"
    path.write_text(
        "1\n00:00:05,000 --> 00:00:06,000\nlater line\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nhello there\n\n"
        "3\n00:00:01,500 --> 00:00:03,000\nhello there\n\n"
        "4\n00:00:02,500 --> 00:00:03,500\n\n\n"
        "5\n00:00:05,500 --> 00:00:07,000\nsecond speaker\n\n"
        "6\n00:00:09,000 --> 00:00:08,000\nbackwards\n",
        encoding="utf-8",
    )
    transcript = read_transcript(path)
    assert [(cue.start_s, cue.end_s, cue.text) for cue in transcript.cues] == [
        (1.0, 3.0, "hello there"),
        (5.0, 6.0, "later line"),
        (5.5, 7.0, "second speaker"),
    ]
    assert "merged 1 overlapping cues with repeated text" in transcript.notes
    assert "kept 1 cues that overlap the previous one" in transcript.notes
    assert "dropped 1 cues that end before they start" in transcript.notes


def test_eaf_tiers(tmp_path):
    import pympi

    eaf = pympi.Elan.Eaf(author="tests")
    eaf.add_tier("empty")
    eaf.add_tier("speaker A")
    eaf.add_tier("notes")
    eaf.add_annotation("speaker A", 1000, 2500, "first words")
    eaf.add_annotation("speaker A", 3000, 4200, "second  words")
    eaf.add_annotation("notes", 0, 900, "laughter")
    path = tmp_path / "session.eaf"
    eaf.to_file(str(path))

    transcript = read_transcript(path)
    assert transcript.format == "eaf"
    assert [(cue.start_s, cue.end_s, cue.text) for cue in transcript.cues] == [
        (1.0, 2.5, "first words"),
        (3.0, 4.2, "second words"),
    ]
    chosen = read_transcript(path, tier="notes")
    assert [cue.text for cue in chosen.cues] == ["laughter"]
    with pytest.raises(TranscriptError, match="no tier 'speaker B'"):
        read_transcript(path, tier="speaker B")


def test_broken_eaf(tmp_path):
    path = tmp_path / "broken.eaf"
    path.write_text("<ANNOTATION_DOCUMENT><TIME_ORDER>", encoding="utf-8")
    with pytest.raises(TranscriptError, match="broken.eaf"):
        read_transcript(path)


def test_missing_transcript(tmp_path):
    with pytest.raises(TranscriptError, match="not found"):
        read_transcript(tmp_path / "none.srt")
    with pytest.raises(TranscriptError, match="Unknown transcript format"):
        read_transcript(AUDIOBOOK_SRT, format="docx")


def test_vtt_without_header(tmp_path):
    path = tmp_path / "bad.vtt"
    path.write_text("00:00:01.000 --> 00:00:02.000\nhello\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="WEBVTT"):
        read_transcript(path)


def test_normalize_words():
    assert normalize_words("NOW IM NOT EVEN GONNA SUGAR COAT THIS") == [
        "now", "im", "not", "even", "gonna", "sugar", "coat", "this",
    ]
    assert normalize_words("Don’t stop, it's <i>fine</i>! [Music]") == ["don't", "stop", "it's", "fine"]
    assert normalize_words("rock 'n' roll") == ["rock", "n", "roll"]
    assert normalize_words("") == []


def test_transcript_machine_draft_flag():
    draft = Transcript([Cue(0.0, 1.0, "hello")], None, "asr", is_machine_draft=True)
    assert draft.is_machine_draft
    assert draft.text == "hello"


def test_vtt_ids_notes_and_voice_tags(tmp_path):
    path = tmp_path / "styled.vtt"
    path.write_text(
        "WEBVTT - interview\n\n"
        "NOTE recorded in 2020\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start\n<v Anna>Hello <i>there</i></v>\n\n"
        "00:00:03.000 --> 00:00:04.000\n&lt;laughs&gt; fine\nthanks\n",
        encoding="utf-8",
    )
    transcript = read_transcript(path)
    assert [(cue.start_s, cue.end_s, cue.text) for cue in transcript.cues] == [
        (1.0, 2.5, "Hello there"),
        (3.0, 4.0, "<laughs> fine thanks"),
    ]


def test_vtt_two_timed_lines_in_one_cue(tmp_path):
    path = tmp_path / "karaoke.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n"
        "one<00:00:01.500><c> two</c>\nthree<00:00:02.500><c> four</c>\n",
        encoding="utf-8",
    )
    words = read_transcript(path).words
    assert [word.text for word in words] == ["one", "two", "three", "four"]
    assert [word.start_s for word in words] == pytest.approx([1.0, 1.5, 2.0, 2.5])
    assert [word.end_s for word in words] == pytest.approx([1.5, 2.0, 2.5, 3.0])


def test_subtitles_saved_as_txt(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_bytes(AUDIOBOOK_SRT.read_bytes())
    transcript = read_transcript(path)
    assert transcript.format == "srt"
    assert len(transcript.cues) == 37
    assert read_transcript(path, format="text").cues[0].start_s is None
