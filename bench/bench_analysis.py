"""Benchmark video analysis with the lite preset: real-time factor and peak memory.

Real-time factor (RTF) = wall time of ``analyze_video`` / media duration, with
a fresh feature cache, so it covers decoding, clip cutting, forced alignment,
face tracking and all three encoders. Model loading is timed separately.
The audiobook runs twice: with its SRT transcript (forced alignment) and
without one (voice activity clips, machine-draft transcript by speech
recognition). Targets: RTF <= 0.25 on a 2-core CPU, and peak resident memory
under 1.5 GB while analysing a 10-minute video, which is built by repeating
the audiobook clip (packets copied with shifted timestamps, no re-encoding).

Each measurement runs in a child process, so its peak RSS
(``resource.getrusage``) covers only that run, model loading included.

Usage: python bench/bench_analysis.py [--mosi VIDEO] [--audiobook VIDEO] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_MOSI = REPO / "resources" / "samples" / "mosi" / "0h-zjBukYpk_2.mp4"
DEFAULT_AUDIOBOOK = SHARED / "test_media" / "noface_audiobook.mp4"
LONG_VIDEO_S = 600.0
RTF_TARGET = 0.25
PEAK_TARGET_MB = 1500.0


def measure(video: Path, transcript: Path | None, face_fps: float, threads: int, stand_in: bool) -> dict:
    """Analyse ``video`` once into a temporary cache and return timings and peak memory (child process)."""
    sys.path.insert(0, str(REPO))
    import torch

    from core_model.data.cache import FeatureCache
    from core_model.features.pipeline import analyze_video
    from core_model.features.presets import get_preset
    from core_model.media.decode import probe

    started = time.perf_counter()
    preset = get_preset("lite", allow_missing=True)
    timed_preset = _add_stand_ins(preset) if stand_in else preset
    load_s = time.perf_counter() - started
    duration_s = probe(video).duration_s
    with tempfile.TemporaryDirectory() as folder:
        cache = FeatureCache(folder, timed_preset.name, timed_preset.dims)
        started, cpu_started = time.perf_counter(), time.process_time()
        clips = analyze_video(video, timed_preset, cache, transcript, face_fps=face_fps, threads=threads)
        analyze_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {
        "video": video.name,
        "transcript": transcript.name if transcript else "none",
        "duration_s": duration_s,
        "clips": len(clips),
        "words": sum(len(c.words) for c in clips),
        "load_s": load_s,
        "analyze_s": analyze_s,
        "rtf": analyze_s / duration_s,
        "cpu_s": cpu_s,
        "peak_mb": peak_kb / 1024.0,
        "missing_encoders": timed_preset.missing_encoders(),
        "stand_ins": [m for m in ("audio", "visual") if m in preset.missing_encoders() and stand_in],
    }


def _add_stand_ins(preset):
    """Fill missing lite audio and visual encoders with untrained networks of the default architecture.

    Their compute cost equals the trained encoders', so the timing holds, but
    their features are meaningless: use them only to time the pipeline.
    """
    import torch

    from core_model.features.lite_audio import LiteAudioEncoder, SpeechEmotionNet, SpeechNetConfig
    from core_model.features.lite_visual import FaceExpressionNet, FaceNetConfig, LiteVisualEncoder
    from core_model.features.presets import Preset

    torch.manual_seed(0)
    audio = preset.audio or LiteAudioEncoder(SpeechEmotionNet(SpeechNetConfig()), "audio:untrained-timing-stand-in")
    visual = preset.visual or LiteVisualEncoder(FaceExpressionNet(FaceNetConfig()), "visual:untrained-timing-stand-in")
    return Preset(preset.name, text=preset.text, audio=audio, visual=visual)


def build_long_video(source: Path, transcript: Path | None, folder: Path, target_s: float) -> tuple[Path, Path | None]:
    """Repeat ``source`` until it lasts ``target_s``; repeat its SRT cues with the same offsets."""
    import math

    import av

    with av.open(str(source)) as probe_container:
        duration_s = probe_container.duration / av.time_base
    repeats = math.ceil(target_s / duration_s)
    output = folder / f"{source.stem}_x{repeats}.mp4"
    with av.open(str(output), "w") as out:
        for repeat in range(repeats):
            with av.open(str(source)) as inp:
                if repeat == 0:
                    streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("audio", "video")}
                for packet in inp.demux():
                    if packet.stream.index not in streams or packet.dts is None:
                        continue
                    shift = round(repeat * duration_s / packet.time_base)
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts = packet.dts + shift
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)

    long_transcript = None
    if transcript is not None:
        sys.path.insert(0, str(REPO))
        from core_model.media.transcripts import read_transcript

        cues = [c for c in read_transcript(transcript).cues if c.start_s is not None and c.text.strip()]
        lines = []
        number = 1
        for repeat in range(repeats):
            for cue in cues:
                lines += [str(number), f"{_srt_time(cue.start_s + repeat * duration_s)} --> "
                          f"{_srt_time(cue.end_s + repeat * duration_s)}", cue.text, ""]
                number += 1
        long_transcript = folder / f"{source.stem}_x{repeats}.srt"
        long_transcript.write_text("\n".join(lines), encoding="utf-8")
    return output, long_transcript


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _sidecar(video: Path, extensions: tuple[str, ...]) -> Path | None:
    for extension in extensions:
        candidate = video.with_suffix(extension)
        if candidate.is_file():
            return candidate
    return None


def run_child(video: Path, transcript: Path | None, face_fps: float, threads: int, stand_in: bool) -> dict:
    command = [sys.executable, __file__, "--child", str(video), "--face-fps", str(face_fps), "--threads", str(threads)]
    if stand_in:
        command.append("--untrained-stand-ins")
    if transcript is not None:
        command += ["--transcript", str(transcript)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark of {video} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mosi", type=Path, default=DEFAULT_MOSI, help="short video with a .txt transcript beside it")
    parser.add_argument("--audiobook", type=Path, default=DEFAULT_AUDIOBOOK,
                        help="longer video with an .srt transcript beside it")
    parser.add_argument("--face-fps", type=float, default=5.0, help="face crops sampled per second")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads during analysis")
    parser.add_argument("--untrained-stand-ins", action="store_true",
                        help="time missing lite audio and visual encoders with untrained networks of the same size")
    parser.add_argument("--quick", action="store_true", help="skip the 10-minute peak-memory run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--transcript", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        print(json.dumps(measure(args.child, args.transcript, args.face_fps, args.threads, args.untrained_stand_ins)))
        return 0

    rows = []
    for video, extensions in ((args.mosi, (".txt",)), (args.audiobook, (".srt", ".vtt"))):
        if not video.is_file():
            print(f"skipped {video}: not found (pass its path)")
            continue
        rows.append(run_child(video, _sidecar(video, extensions), args.face_fps, args.threads, args.untrained_stand_ins))
    if not args.quick and args.audiobook.is_file():
        # Without a transcript: voice activity clips and a machine-draft transcript by speech recognition.
        rows.append(run_child(args.audiobook, None, args.face_fps, args.threads, args.untrained_stand_ins))
        with tempfile.TemporaryDirectory() as folder:
            long_video, long_srt = build_long_video(args.audiobook, _sidecar(args.audiobook, (".srt",)),
                                                    Path(folder), LONG_VIDEO_S)
            rows.append(run_child(long_video, long_srt, args.face_fps, args.threads, args.untrained_stand_ins))

    load = os.getloadavg()[0]
    print(f"lite preset analysis: {os.cpu_count()} CPUs (load average {load:.1f}), torch threads {args.threads}, "
          f"face crops at {args.face_fps:g} fps")
    header = f"{'video':32} {'transcript':26} {'media s':>8} {'clips':>5} {'words':>6} {'load s':>7} " \
             f"{'analyse s':>9} {'CPU s':>7} {'RTF':>6} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['video'][:32]:32} {row['transcript'][:26]:26} {row['duration_s']:8.1f} {row['clips']:5d} "
              f"{row['words']:6d} {row['load_s']:7.1f} {row['analyze_s']:9.1f} {row['cpu_s']:7.1f} {row['rtf']:6.3f} "
              f"{row['peak_mb']:8.0f}")
    stand_ins = sorted({m for row in rows for m in row["stand_ins"]})
    if stand_ins:
        print(f"NOTE: {', '.join(stand_ins)} encoders timed with untrained stand-ins (lite weights not present)")
    missing = sorted({m for row in rows for m in row["missing_encoders"]})
    if missing:
        print(f"NOTE: encoders not available, so not measured: {', '.join(missing)}")
    print("RTF = analyse s / media s (wall clock). CPU s is the process CPU time; on a busy machine it is "
          "the better guide to what an idle one would take.")
    print(f"targets: RTF <= {RTF_TARGET}, peak memory < {PEAK_TARGET_MB:.0f} MB on the 10-minute video")
    failed = [r for r in rows if r["rtf"] > RTF_TARGET] + [r for r in rows if r["peak_mb"] >= PEAK_TARGET_MB]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
