"""``semi-iin project``: create, inspect, back up, import into and export from annotation projects."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from app.project import Project
from app.project.errors import InvalidValueError

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("label.csv", "csv", "json", "srt", "vtt", "eaf")
PER_VIDEO_FORMATS = ("srt", "vtt", "eaf")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "project",
        help="create, inspect, import into and export from annotation projects",
        description="Work with an annotation project folder (project.sqlite) without the GUI.",
    )
    actions = parser.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create an empty project folder")
    create.add_argument("folder", type=Path, help="folder to create the project in")
    create.set_defaults(func=run_create)

    info = actions.add_parser("info", help="print videos, clip counts per status and model versions")
    info.add_argument("folder", type=Path, help="project folder")
    info.set_defaults(func=run_info)

    backup = actions.add_parser("backup", help="write a verified backup to the project's backups/ folder")
    backup.add_argument("folder", type=Path, help="project folder")
    backup.set_defaults(func=run_backup)

    add = actions.add_parser("add-videos", help="add media files, or every media file under a folder")
    add.add_argument("folder", type=Path, help="project folder")
    add.add_argument("media", type=Path, nargs="+", help="media files or folders")
    add.set_defaults(func=run_add_videos)

    labels = actions.add_parser("import-labels", help="import labels and splits from an MMSA label.csv")
    labels.add_argument("folder", type=Path, help="project folder")
    labels.add_argument("label_csv", type=Path, help="label.csv with video_id, clip_id, text, label, ..., mode")
    labels.add_argument("--annotator", default="label.csv", help="annotator name recorded with the labels")
    labels.set_defaults(func=run_import_labels)

    transcript = actions.add_parser("import-transcript",
                                    help="replace a video's clips with the cues of an SRT, WebVTT or ELAN file")
    transcript.add_argument("folder", type=Path, help="project folder")
    transcript.add_argument("video_id", type=int, help="id of the video (see `project info`)")
    transcript.add_argument("file", type=Path, help=".srt, .vtt or .eaf file")
    transcript.add_argument("--tier", default=None, help="ELAN tier to read (default: 'clips' or the only tier)")
    transcript.set_defaults(func=run_import_transcript)

    export = actions.add_parser("export", help="export labels, clips or transcripts")
    export.add_argument("folder", type=Path, help="project folder")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="output format")
    export.add_argument("--out", type=Path, required=True, help="output file")
    export.add_argument("--video", type=int, default=None, help="video id; required for srt, vtt and eaf")
    export.add_argument("--include-predicted", action="store_true",
                        help="label.csv: also write clips without a human decision with their predicted intensity")
    export.set_defaults(func=run_export)

    agreement = actions.add_parser("agreement", help="print Krippendorff's alpha and Cohen's kappa between annotators")
    agreement.add_argument("folder", type=Path, help="project folder")
    agreement.set_defaults(func=run_agreement)


def run_create(args: argparse.Namespace) -> int:
    Project.create(args.folder).close()
    print(f"created project {args.folder}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    with Project.open(args.folder, backup_on_open=False) as project:
        print(f"project {project.folder} (schema version {project.schema_version})")
        for video in project.videos():
            if video.exists:
                state = "ok"
            elif video.path is None:
                state = "no media"
            else:
                state = "file missing"
            print(f"  video {video.id}: {video.name} [{state}] {project.count_clips(video_id=video.id)} clips")
        counts = project.status_counts()
        print("  clips: " + ", ".join(f"{status} {count}" for status, count in counts.items()))
        active = project.active_model_version()
        for model in project.model_versions():
            marker = " (active)" if model.version == active else ""
            print(f"  model {model.version}{marker}: parent {model.parent}, metrics {model.metrics}")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    with Project.open(args.folder, backup_on_open=False) as project:
        path = project.backup()
    if path is None:
        print("backup failed its integrity check; the older backups were kept")
        return 1
    print(f"wrote {path}")
    return 0


def run_add_videos(args: argparse.Namespace) -> int:
    with Project.open(args.folder) as project:
        added = []
        for item in args.media:
            added += project.add_videos(item)
    print(f"added {len(added)} videos")
    return 0


def run_import_labels(args: argparse.Namespace) -> int:
    from app.project.io_mmsa import import_label_csv

    with Project.open(args.folder) as project:
        report = import_label_csv(project, args.label_csv, annotator=args.annotator)
    print(f"read {report.rows} rows: {report.created_clips} clips created, {report.matched_clips} matched, "
          f"{report.labels} labels set")
    return 0


def run_import_transcript(args: argparse.Namespace) -> int:
    from app.project.io_eaf import import_eaf_transcript
    from app.project.io_subtitles import import_subtitles

    with Project.open(args.folder) as project:
        if args.file.suffix.lower() == ".eaf":
            ids = import_eaf_transcript(project, args.video_id, args.file, args.tier)
        else:
            ids = import_subtitles(project, args.video_id, args.file)
    print(f"video {args.video_id} now has {len(ids)} clips")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from app.project.io_eaf import export_eaf
    from app.project.io_mmsa import export_label_csv
    from app.project.io_subtitles import export_srt, export_vtt
    from app.project.io_tables import export_csv, export_json

    if args.format in PER_VIDEO_FORMATS and args.video is None:
        raise InvalidValueError(f"--format {args.format} exports one video; pass --video ID (see `project info`)")
    with Project.open(args.folder, backup_on_open=False) as project:
        if args.format == "label.csv":
            count = export_label_csv(project, args.out, include_predicted=args.include_predicted)
        elif args.format == "csv":
            count = export_csv(project, args.out)
        elif args.format == "json":
            count = export_json(project, args.out)
        elif args.format == "srt":
            count = export_srt(project, args.video, args.out)
        elif args.format == "vtt":
            count = export_vtt(project, args.video, args.out)
        else:
            count = sum(export_eaf(project, args.video, args.out).values())
    print(f"wrote {count} entries to {args.out}")
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    with Project.open(args.folder, backup_on_open=False) as project:
        report = project.agreement()
    print(f"annotators: {', '.join(report.annotators) or 'none'}; clips labeled by two or more: {report.clip_count}")
    alpha = "n/a" if report.alpha_interval is None else f"{report.alpha_interval:.3f}"
    print(f"Krippendorff's alpha (interval): {alpha}")
    for pair, kappa in report.kappa_pairs.items():
        print(f"Cohen's kappa (7 bins) {pair.replace('|', ' vs ')}: {'n/a' if kappa is None else f'{kappa:.3f}'}")
    return 0
