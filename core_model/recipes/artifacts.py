"""Reading and writing encoder artifacts: safetensors weights plus a JSON config.

An artifact folder contains ``model.safetensors``, ``config.json`` and, once
a recipe has evaluated it, ``card.json`` and ``card.md``. A missing file
raises ModelNotFoundError naming the file and the recipe command that
rebuilds it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core_model.errors import CheckpointMismatchError, ModelNotFoundError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "resources" / "models"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def read_artifact(folder: Path, rebuild_command: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return the config dict and the weight tensors stored in ``folder``."""
    config_path = folder / CONFIG_FILE
    weights_path = folder / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ModelNotFoundError(f"model file {path} not found; rebuild it with `{rebuild_command}`")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointMismatchError(
            f"{config_path} is not valid JSON ({exc}); rebuild it with `{rebuild_command}`"
        ) from exc
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointMismatchError(
            f"{weights_path} is not a readable safetensors file ({exc}); rebuild it with `{rebuild_command}`"
        ) from exc
    return config, tensors


def write_artifact(folder: Path, config: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    """Write ``config`` and the weight tensors of ``state`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
    save_file(tensors, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("wrote %s and %s in %s", WEIGHTS_FILE, CONFIG_FILE, folder)


def load_network(path: str | Path | None, default_folder: Path, config_class, network_class, rebuild_command: str,
                 what: str):
    """Build ``network_class`` from the artifact folder at ``path`` (default ``default_folder``).

    ``path`` may also name the weights file inside the folder. Returns
    ``(network, config dict)``; weights that do not fit the stored config raise
    CheckpointMismatchError naming the folder and ``rebuild_command``.
    """
    folder = Path(path) if path is not None else default_folder
    if folder.is_file():
        folder = folder.parent
    config_dict, tensors = read_artifact(folder, rebuild_command)
    network = network_class(config_class.from_dict(config_dict.get("model", {})))
    try:
        network.load_state_dict(tensors)
    except RuntimeError as exc:
        raise CheckpointMismatchError(
            f"weights in {folder} do not fit the {what} config: {exc}; rebuild with `{rebuild_command}`"
        ) from exc
    return network, config_dict
