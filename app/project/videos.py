"""Videos of a project: add by file or folder, content hashes, relinking moved files."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from app.project.errors import HashMismatchError, InvalidValueError, VideoNotFoundError
from app.project.records import VideoRecord
from app.project.store import ProjectBase, as_mapping, dumps, utc_now

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                              ".wav", ".mp3", ".flac", ".m4a", ".ogg"})
_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _media_fields(info: Any) -> tuple[float | None, list[dict[str, Any]]]:
    data = as_mapping(info)
    duration = data.get("duration_s", data.get("duration"))
    if duration is not None:
        duration = float(duration)
        if not duration >= 0:
            raise InvalidValueError(f"media duration {duration!r} is invalid; expected seconds >= 0")
    streams = data.get("streams") or []
    return duration, json.loads(json.dumps(list(streams), default=_jsonable))


def _jsonable(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _video_from_row(row) -> VideoRecord:
    return VideoRecord(
        id=row[0], name=row[1], path=Path(row[2]) if row[2] else None, sha256=row[3], size_bytes=row[4],
        duration_s=row[5], streams=json.loads(row[6]), added_at=row[7],
    )


_VIDEO_COLUMNS = "id, name, path, sha256, size_bytes, duration_s, streams, added_at"


class VideosMixin(ProjectBase):
    def add_video(self, path: str | os.PathLike, info: Any = None) -> VideoRecord:
        """Add a media file, or return the existing record when a file with the same content is known.

        ``info`` is a MediaInfo-like mapping or object (``duration_s`` and
        ``streams``); without it the project's ``probe`` callable is used if set,
        else the duration stays unknown until :meth:`probe_video`.
        """
        file = Path(path).resolve()
        if not file.is_file():
            raise FileNotFoundError(f"video file {file} not found")
        digest = sha256_file(file)
        size = file.stat().st_size
        with self._read() as conn:
            row = conn.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE sha256 = ?", (digest,)).fetchone()
        if row is not None:
            known = _video_from_row(row)
            if known.path != file and not known.exists:
                log.info("video %d found at a new path %s; relinking", known.id, file)
                return self.relink_video(known.id, file)
            return known
        if info is None and self.probe is not None:
            info = self.probe(file)
        duration, streams = _media_fields(info)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO videos (name, path, sha256, size_bytes, duration_s, streams, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (file.stem, str(file), digest, size, duration, dumps(streams), utc_now()),
            )
            video_id = cursor.lastrowid
        log.info("added video %d: %s", video_id, file)
        return self.video(video_id)

    def add_videos(self, paths_or_folder: str | os.PathLike | Iterable[str | os.PathLike]) -> list[VideoRecord]:
        """Add several files, or every media file under a folder (recursively, sorted by path)."""
        if isinstance(paths_or_folder, (str, os.PathLike)) and Path(paths_or_folder).is_dir():
            files = sorted(p for p in Path(paths_or_folder).rglob("*")
                           if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        elif isinstance(paths_or_folder, (str, os.PathLike)):
            files = [Path(paths_or_folder)]
        else:
            files = [Path(p) for p in paths_or_folder]
        return [self.add_video(file) for file in files]

    def add_video_placeholder(self, name: str) -> VideoRecord:
        """Return the media-less video called ``name``, creating it (used by label-only imports)."""
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE name = ? AND sha256 IS NULL", (name,)
            ).fetchone()
            if row is not None:
                return _video_from_row(row)
            cursor = conn.execute(
                "INSERT INTO videos (name, path, sha256, size_bytes, duration_s, streams, added_at) "
                "VALUES (?, NULL, NULL, NULL, NULL, '[]', ?)",
                (name, utc_now()),
            )
            row = conn.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _video_from_row(row)

    def video(self, video_id: int) -> VideoRecord:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos WHERE id = ?", (video_id,)).fetchone()
        if row is None:
            raise VideoNotFoundError(f"video {video_id} not found in project {self.folder}")
        return _video_from_row(row)

    def videos(self) -> list[VideoRecord]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_VIDEO_COLUMNS} FROM videos ORDER BY id").fetchall()
        return [_video_from_row(row) for row in rows]

    def probe_video(self, video_id: int) -> VideoRecord:
        """Fill in duration and streams with the project's ``probe`` callable when they are unknown."""
        video = self.video(video_id)
        if video.duration_s is not None or self.probe is None or not video.exists:
            return video
        duration, streams = _media_fields(self.probe(video.path))
        with self._write() as conn:
            conn.execute("UPDATE videos SET duration_s = ?, streams = ? WHERE id = ?",
                         (duration, dumps(streams), video_id))
        return self.video(video_id)

    def relink_video(self, video_id: int, new_path: str | os.PathLike) -> VideoRecord:
        """Point a video at a moved file after checking that its SHA-256 matches."""
        video = self.video(video_id)
        file = Path(new_path).resolve()
        if not file.is_file():
            raise FileNotFoundError(f"file {file} not found")
        if video.sha256 is not None:
            digest = sha256_file(file)
            if digest != video.sha256:
                raise HashMismatchError(
                    f"{file} has different content from video {video_id} ({video.name}): "
                    f"SHA-256 {digest[:12]}... instead of {video.sha256[:12]}...; choose the original file"
                )
        else:
            digest = sha256_file(file)
        with self._write() as conn:
            conn.execute("UPDATE videos SET path = ?, sha256 = ?, size_bytes = ? WHERE id = ?",
                         (str(file), digest, file.stat().st_size, video_id))
        log.info("relinked video %d to %s", video_id, file)
        return self.video(video_id)

    def find_moved(self, search_folder: str | os.PathLike, *, relink: bool = True) -> dict[int, Path]:
        """Search ``search_folder`` for videos whose file is missing, matching by size and SHA-256.

        Returns ``{video_id: found_path}``; with ``relink`` the records are updated.
        """
        missing = [v for v in self.videos() if v.sha256 is not None and not v.exists]
        if not missing:
            return {}
        by_size: dict[int | None, list[VideoRecord]] = {}
        for video in missing:
            by_size.setdefault(video.size_bytes, []).append(video)
        found: dict[int, Path] = {}
        for file in sorted(Path(search_folder).rglob("*")):
            if not file.is_file():
                continue
            candidates = by_size.get(file.stat().st_size, []) + by_size.get(None, [])
            candidates = [v for v in candidates if v.id not in found]
            if not candidates:
                continue
            digest = sha256_file(file)
            for video in candidates:
                if video.sha256 == digest:
                    found[video.id] = file.resolve()
        if relink:
            for video_id, file in found.items():
                self.relink_video(video_id, file)
        return found
