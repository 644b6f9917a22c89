"""Benchmark of the project store at CMU-MOSEI scale: open, list, accept, export.

Run from the repository root: ``python bench/bench_project.py [--clips 25000]``.
Prints a table of median times next to the targets. The project is built in a
temporary folder (or ``--folder``) from generated stand-in media files.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.project import Project  # noqa: E402
from app.project.io_mmsa import export_label_csv  # noqa: E402

log = logging.getLogger(__name__)

CLIPS_PER_VIDEO = 50


def build(folder: Path, clip_count: int, seed: int) -> dict[str, float]:
    """Create a project with ``clip_count`` clips, predictions for all and labels for a fifth."""
    rng = random.Random(seed)
    timings = {}
    media = folder.parent / "media"
    media.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with Project.create(folder, backup_on_open=False) as project:
        clip_ids: list[int] = []
        videos = (clip_count + CLIPS_PER_VIDEO - 1) // CLIPS_PER_VIDEO
        for v in range(videos):
            path = media / f"video{v:05d}.mp4"
            path.write_bytes(v.to_bytes(4, "little") * 4096)
            video = project.add_video(path, {"duration_s": CLIPS_PER_VIDEO * 4.0, "streams": []})
            count = min(CLIPS_PER_VIDEO, clip_count - len(clip_ids))
            clip_ids += project.add_clips(video.id, [
                {"start_s": 4.0 * i, "end_s": 4.0 * i + 3.5, "text": f"utterance {i} of video {v}",
                 "words": [{"text": "utterance", "start_s": 4.0 * i, "end_s": 4.0 * i + 0.5}]}
                for i in range(count)
            ])
        timings["build clips"] = time.perf_counter() - start
        rows = []
        for clip_id in clip_ids:
            probs = [rng.random() for _ in range(7)]
            total = sum(probs)
            probs = [p / total for p in probs]
            rows.append({"clip_id": clip_id, "intensity": rng.uniform(-3, 3), "probs": probs,
                         "gate_val": rng.random(), "gate_cls": rng.random(), "confidence": max(probs)})
        start = time.perf_counter()
        project.save_predictions("m1", rows)
        timings["save 25k-scale predictions"] = time.perf_counter() - start
        for clip_id in rng.sample(clip_ids, len(clip_ids) // 5):
            project.set_label(clip_id, round(rng.uniform(-3, 3), 1), "bench")
    return timings


def median_time(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(clip_count: int, folder: Path, seed: int) -> list[tuple[str, float, float | None]]:
    results: list[tuple[str, float, float | None]] = []
    build_times = build(folder, clip_count, seed)
    results += [(name, seconds, None) for name, seconds in build_times.items()]

    open_samples = []
    backup_samples = []
    for step in range(3):
        # A write first, so that the open finds a change and starts a backup.
        with Project.open(folder, backup_on_open=False) as project:
            project.set_setting("bench_step", step)
        start = time.perf_counter()
        project = Project.open(folder)
        open_samples.append(time.perf_counter() - start)
        project.wait_for_backup()
        backup_samples.append(time.perf_counter() - start)
        project.close()
    results.append(("open after a change (checks, backup in background)", statistics.median(open_samples), 1.0))
    results.append(("  ... until the background backup is verified", statistics.median(backup_samples), None))
    results.append(("open + close, unchanged since last backup",
                    median_time(lambda: Project.open(folder).close(), 3), 1.0))
    rng = random.Random(seed + 1)
    with Project.open(folder, backup_on_open=False) as project:
        total = project.count_clips()
        results.append(("list page of 50 by confidence",
                        median_time(lambda: project.list_clips(order_by="confidence", limit=50), 20), 0.05))
        results.append(("list page of 50 by confidence, offset 12000",
                        median_time(lambda: project.list_clips(order_by="confidence", limit=50, offset=12000), 20),
                        0.05))
        results.append(("list page of 50 'predicted' by confidence desc",
                        median_time(lambda: project.list_clips(status="predicted", order_by="confidence",
                                                               descending=True, limit=50), 20), 0.05))
        results.append(("count_bulk_accept(0.3)", median_time(lambda: project.count_bulk_accept(0.3), 10), None))
        ids = [row.id for row in project.list_clips(status="predicted", limit=200)]
        picks = iter(rng.sample(ids, 100))
        results.append(("accept a clip (synchronous=FULL)",
                        median_time(lambda: project.accept(next(picks), "bench"), 50), 0.005))
        results.append(("undo", median_time(project.undo, 20), 0.005))
    with Project.open(folder, backup_on_open=False, synchronous="NORMAL") as project:
        results.append(("accept a clip (synchronous=NORMAL)",
                        median_time(lambda: project.accept(next(picks), "bench"), 40), 0.005))
        export = folder / "exports" / "label.csv"
        labeled = project.count_clips(status=["accepted", "corrected"])
        results.append((f"export label.csv ({labeled} labeled rows)",
                        median_time(lambda: export_label_csv(project, export), 3), 2.0))
        results.append((f"export label.csv with predictions ({total} rows)",
                        median_time(lambda: export_label_csv(project, export, include_predicted=True), 3), 2.0))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=25_000, help="number of clips in the project (default 25000)")
    parser.add_argument("--folder", type=Path, help="empty folder to build the project in (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generated labels")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch) / "bench-project"
        results = run(args.clips, folder, args.seed)
    print(f"project store benchmark, {args.clips} clips")
    print(f"{'operation':<52} {'median':>10} {'target':>9}  ok")
    for name, seconds, target in results:
        target_text = ""
        verdict = ""
        if target is not None:
            target_text = f"{target * 1000:.0f} ms"
            verdict = "yes" if seconds <= target else "NO"
        print(f"{name:<52} {seconds * 1000:>7.1f} ms {target_text:>9}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
