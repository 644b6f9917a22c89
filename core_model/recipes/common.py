"""Helpers shared by the recipes: seeding, thread limits, timing and model cards."""

from __future__ import annotations

import json
import logging
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for shuffling and augmentation."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def limit_threads(threads: int) -> None:
    """Cap torch's intra-op threads, because the recipes share a small CPU."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


@dataclass
class Stopwatch:
    """Wall-clock seconds since construction."""

    start: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


def machine_note() -> str:
    """Describe where a recipe ran, for the model card."""
    return f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def write_card(folder: Path, card: dict[str, Any]) -> None:
    """Write ``card`` as ``card.json`` and a Markdown rendering as ``card.md`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    card = _finite(card)
    (folder / "card.json").write_text(json.dumps(card, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (folder / "card.md").write_text(render_card(card), encoding="utf-8")
    log.info("wrote card.json and card.md in %s", folder)


def _finite(value: Any) -> Any:
    """Return ``value`` with NaN and Inf floats replaced by None, because strict JSON has no NaN."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render_card(card: dict[str, Any]) -> str:
    """Render a model card dict as Markdown, one section per top-level key."""
    lines = [f"# {card.get('name', 'Model card')}", ""]
    if card.get("summary"):
        lines += [str(card["summary"]), ""]
    for key, value in card.items():
        if key in ("name", "summary"):
            continue
        lines += [f"## {key.replace('_', ' ').capitalize()}", ""]
        lines += _render_value(value)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _render_value(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"- **{k}**: {_inline(v)}" for k, v in value.items()]
    if isinstance(value, list):
        return [f"- {_inline(item)}" for item in value]
    return [str(value)]


def _inline(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
