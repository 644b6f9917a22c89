"""Model checkpoints: safetensors weights plus a self-describing checkpoint.json.

A checkpoint is a folder::

    model.safetensors   the weights (no pickle)
    checkpoint.json     format, version, model config, feature preset and dims,
                        metrics, seed, train config, data hashes, library
                        versions, pseudo-label set, trained modalities

The folder is written under a temporary name beside the target and renamed
into place, so a crash while saving never leaves a half-written checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from core_model.data.batch import MODALITIES
from core_model.errors import CheckpointMismatchError, ConfigError, ModelNotFoundError

log = logging.getLogger(__name__)

FORMAT = "semi-iin-checkpoint"
VERSION = 1
WEIGHTS_FILE = "model.safetensors"
INFO_FILE = "checkpoint.json"
# Keys a caller may put in ``info``; the rest of checkpoint.json is derived.
INFO_KEYS = frozenset({
    "preset", "dims", "metrics", "seed", "train_config", "data_hashes", "pseudo_labels", "modalities",
    "best_epoch", "history", "notes",
})


def library_versions() -> dict[str, str]:
    """Return versions of the libraries that affect a model's numbers."""
    import numpy
    import safetensors

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "safetensors": safetensors.__version__}


def unwrap(model: nn.Module) -> nn.Module:
    """Return the plain model inside a DistributedDataParallel wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def save_checkpoint(directory: str | os.PathLike, model: nn.Module, info: Mapping[str, Any]) -> Path:
    """Write ``model`` and ``info`` to ``directory``, replacing an existing checkpoint there.

    ``info`` keys are listed in :data:`INFO_KEYS`; ``preset`` and ``dims`` are
    required because loading checks them against the data.
    """
    from safetensors.torch import save_model

    unknown = set(info) - INFO_KEYS
    if unknown:
        raise ConfigError(f"unknown checkpoint info keys {sorted(unknown)}; known keys are {sorted(INFO_KEYS)}")
    for key in ("preset", "dims"):
        if key not in info:
            raise ConfigError(f"checkpoint info needs {key!r}")
    model = unwrap(model)
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        weights = temporary / WEIGHTS_FILE
        save_model(model, str(weights))
        record = {
            "format": FORMAT,
            "version": VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model_config": model.config.to_dict(),
            "preset": info["preset"],
            "dims": {m: int(info["dims"][m]) for m in MODALITIES},
            "modalities": list(info.get("modalities", MODALITIES)),
            "metrics": dict(info.get("metrics", {})),
            "seed": info.get("seed"),
            "train_config": dict(info.get("train_config", {})),
            "data_hashes": dict(info.get("data_hashes", {})),
            "pseudo_labels": list(info.get("pseudo_labels", [])),
            "best_epoch": info.get("best_epoch"),
            "history": list(info.get("history", [])),
            "notes": info.get("notes", ""),
            "library_versions": library_versions(),
            "weights_sha256": _sha256(weights),
        }
        # Strict JSON: NaN metrics (Corr of a constant prediction) become null,
        # and values such as paths become strings.
        text = json.dumps(_finite_or_none(record), indent=2, allow_nan=False, default=str)
        (temporary / INFO_FILE).write_text(text, encoding="utf-8")
        _replace_directory(temporary, target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    log.info("saved checkpoint %s", target)
    return target


def _finite_or_none(value: Any) -> Any:
    """Return ``value`` with NaN and Inf floats replaced by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


def _replace_directory(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``; an existing ``target`` is moved aside first.

    NOTE: POSIX cannot rename a folder over a non-empty folder, so ``target``
    is missing between the two renames. A crash exactly then leaves the old
    checkpoint in ``.NAME.old-*`` beside it.
    """
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.rename(source, target)
        return
    if not (target / INFO_FILE).is_file():
        raise ConfigError(f"{target} exists and is not a checkpoint; choose another output folder")
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.rmdir(old)
    os.rename(target, old)
    os.rename(source, target)
    shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checkpoint_info(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check checkpoint.json of ``directory`` without loading weights."""
    root = Path(directory)
    path = root / INFO_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"no checkpoint in {root}: {INFO_FILE} is missing")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointMismatchError(f"{path} is not valid JSON: {exc}") from exc
    if info.get("format") != FORMAT:
        raise CheckpointMismatchError(f"{path} has format {info.get('format')!r}, expected {FORMAT!r}")
    if int(info.get("version", 0)) > VERSION:
        raise CheckpointMismatchError(
            f"{path} has checkpoint version {info['version']}, newer than this program's {VERSION}; "
            "update Semi-IIN Studio to load it"
        )
    return info


def check_compatible(
    info: Mapping[str, Any],
    expected_dims: Mapping[str, int] | None,
    expected_preset: str | None,
    where: str,
) -> None:
    """Raise CheckpointMismatchError when the checkpoint's preset or dims differ from the data's."""
    if expected_preset is not None and info.get("preset") != expected_preset:
        raise CheckpointMismatchError(
            f"checkpoint {where} was trained on feature preset {info.get('preset')!r}, "
            f"but the data uses preset {expected_preset!r}; use a checkpoint trained on {expected_preset!r} features"
        )
    if expected_dims is not None:
        found = info.get("dims", {})
        wrong = [m for m in MODALITIES if int(found.get(m, -1)) != int(expected_dims[m])]
        if wrong:
            details = "; ".join(f"{m}: checkpoint {found.get(m)}, data {int(expected_dims[m])}" for m in wrong)
            raise CheckpointMismatchError(
                f"checkpoint {where} does not fit the data's feature sizes ({details}); "
                "use a checkpoint trained on features of the same preset"
            )


def load_checkpoint(
    directory: str | os.PathLike,
    expected_dims: Mapping[str, int] | None = None,
    expected_preset: str | None = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Load the model in ``directory`` in eval mode and return it with its info.

    Raises CheckpointMismatchError naming expected and found values when the
    preset or feature sizes differ from ``expected_*``, ModelNotFoundError when
    the folder contains no checkpoint.
    """
    from safetensors.torch import load_model

    from core_model.model import SemiIIN, SemiIINConfig

    root = Path(directory)
    info = read_checkpoint_info(root)
    check_compatible(info, expected_dims, expected_preset, str(root))
    weights = root / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelNotFoundError(f"checkpoint {root} has no {WEIGHTS_FILE}")
    expected_hash = info.get("weights_sha256")
    if expected_hash and _sha256(weights) != expected_hash:
        raise CheckpointMismatchError(f"{weights} does not match the hash in {INFO_FILE}; the file is damaged")
    model = SemiIIN(SemiIINConfig.from_dict(info["model_config"]))
    try:
        load_model(model, str(weights), strict=True, device=str(device))
    except RuntimeError as exc:
        raise CheckpointMismatchError(f"weights in {weights} do not fit the model config in {INFO_FILE}: {exc}") from exc
    model.to(device)
    model.eval()
    return model, info
