"""Reading text files of unknown origin: BOM, CRLF and non-UTF-8 encodings."""

from __future__ import annotations

import logging
from pathlib import Path

from app.project.errors import ImportFormatError

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """Decode a text file: UTF-8 (a BOM is removed), else the encoding charset-normalizer detects.

    Line endings are normalised to ``\\n``.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise ImportFormatError(f"{path} is not a text file in a known encoding; save it as UTF-8") from None
        log.warning("%s is not UTF-8; read it as %s", path, best.encoding)
        text = str(best)
    return text.replace("\r\n", "\n").replace("\r", "\n")
