"""Atomic file and folder writes: write to a temporary name, fsync, then rename into place.

A reader therefore sees either the old complete file or the new complete file,
never a half-written one, even if the process is killed mid-write.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


def _fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not supported on Windows, where it is skipped.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike, text: str, *, newline: str = "\n") -> Path:
    """Write ``text`` as UTF-8 (no BOM) to ``path`` atomically, with ``newline`` as line ending."""
    if newline != "\n":
        text = text.replace("\n", newline)
    return atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_tree(root: Path) -> None:
    for folder, _subfolders, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_directory(Path(folder))


@contextmanager
def atomic_directory(target: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success rename it to ``target``.

    The files are fsynced before the rename, so ``target`` either does not exist
    or is complete. On an exception the temporary folder is removed and
    ``target`` is left untouched. With ``overwrite`` an existing ``target`` is
    replaced (moved aside, then deleted); without it FileExistsError is raised.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists; choose a new name or pass overwrite=True")
    temp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        yield temp
        _fsync_tree(temp)
        if final.exists():
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(temp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temp, final)
        _fsync_directory(final.parent)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    log.info("wrote folder %s", final)
