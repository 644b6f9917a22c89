"""Size a Semi-IIN configuration from the data, and fit clips to a model's capacity.

Feature sizes and input lengths come from the corpus, not from flags: the
improved configuration's ``fixed_lengths`` is the per-modality capacity of
the learned position table, so it is set to the longest clip of the data.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Mapping, Sequence

from core_model.data.batch import MODALITIES, ClipFeatures
from core_model.errors import DataError

log = logging.getLogger(__name__)


def max_lengths(samples: Sequence[ClipFeatures]) -> dict[str, int]:
    """Return the longest frame count of each modality over ``samples`` (0 when absent everywhere)."""
    longest = {m: 0 for m in MODALITIES}
    for sample in samples:
        for modality in MODALITIES:
            array = sample.modality(modality)
            if array is not None:
                longest[modality] = max(longest[modality], int(array.shape[0]))
    return longest


def config_for_data(dims: Mapping[str, int], samples: Sequence[ClipFeatures], faithful: bool = False,
                    **overrides: Any):
    """Return a SemiIINConfig for features of size ``dims`` whose lengths cover ``samples``.

    Each modality's length is raised until its encoder yields at least one
    token. ``overrides`` go to ``SemiIINConfig.for_dims`` (hidden, heads, ...).
    """
    from core_model.model import SemiIINConfig

    base = SemiIINConfig.for_dims(dims)
    lengths = {}
    for modality, longest in max_lengths(samples).items():
        length = max(1, longest)
        while base.encoder(modality).output_length(length) < 1:
            length += 1
        lengths[modality] = length
    overrides.setdefault("fixed_lengths", lengths)
    return SemiIINConfig.for_dims(dims, faithful=faithful, **overrides)


def fit_to_capacity(samples: Sequence[ClipFeatures], config) -> list[ClipFeatures]:
    """Return ``samples`` with every modality cut to ``config.fixed_lengths`` frames.

    The cut clips are copies; the count of cut clips per modality is logged.
    """
    cut = {m: 0 for m in MODALITIES}
    fitted = []
    for sample in samples:
        changes = {}
        for modality in MODALITIES:
            array = sample.modality(modality)
            limit = config.fixed_lengths[modality]
            if array is not None and array.shape[0] > limit:
                changes[modality] = array[:limit]
                cut[modality] += 1
        fitted.append(replace(sample, **changes) if changes else sample)
    for modality, count in cut.items():
        if count:
            log.warning("cut %d clips to the model's %d %s frames", count, config.fixed_lengths[modality], modality)
    return fitted


def check_dims(config, dims: Mapping[str, int], where: str) -> None:
    """Raise DataError when a model's input sizes differ from the data's ``dims``."""
    found = config.dims
    wrong = [m for m in MODALITIES if found[m] != int(dims[m])]
    if wrong:
        details = "; ".join(f"{m}: model {found[m]}, data {int(dims[m])}" for m in wrong)
        raise DataError(f"{where}: feature sizes differ ({details})")
