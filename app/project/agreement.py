"""Agreement between annotators: Krippendorff's alpha (interval) and Cohen's kappa on the 7 bins."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from app.project.bins import intensity_to_bin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgreementReport:
    """Agreement over the clips labeled by at least two of ``annotators``.

    ``alpha_interval`` is None when fewer than two annotators or no shared
    clips exist; ``kappa_pairs`` maps "a|b" to Cohen's kappa on the 7 bins over
    the clips both labeled (None when they share no clip or only one class).
    """

    annotators: list[str]
    clip_count: int
    alpha_interval: float | None
    kappa_pairs: dict[str, float | None] = field(default_factory=dict)
    mean_kappa: float | None = None


def annotator_labels(project) -> dict[str, dict[int, float]]:
    """Return ``{annotator: {clip_id: intensity}}`` for accepted and corrected per-annotator labels."""
    labels: dict[str, dict[int, float]] = {}
    with project._read() as conn:
        for clip_id, annotator, intensity in conn.execute(
            "SELECT clip_id, annotator, intensity FROM labels WHERE status IN ('accepted', 'corrected') "
            "ORDER BY annotator, clip_id"
        ):
            labels.setdefault(annotator, {})[clip_id] = intensity
    return labels


def consensus_labels(project) -> dict[int, tuple[float, int]]:
    """Return ``{clip_id: (mean intensity, bin)}`` over the annotators' labels.

    The mean uses math.fsum, so opposite labels such as +0.1 and -0.1 give
    exactly 0.0, which is neutral (bin 3).
    """
    values: dict[int, list[float]] = {}
    for per_clip in annotator_labels(project).values():
        for clip_id, intensity in per_clip.items():
            values.setdefault(clip_id, []).append(intensity)
    result = {}
    for clip_id, items in sorted(values.items()):
        mean = math.fsum(items) / len(items)
        result[clip_id] = (mean, intensity_to_bin(mean))
    return result


def compute_agreement(project, annotators: list[str] | None = None) -> AgreementReport:
    """Compute Krippendorff's alpha (interval metric) and pairwise Cohen's kappa for the project."""
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    labels = annotator_labels(project)
    names = sorted(labels) if annotators is None else list(annotators)
    shared = sorted(
        clip_id for clip_id in {c for n in names for c in labels.get(n, {})}
        if sum(clip_id in labels.get(n, {}) for n in names) >= 2
    )
    alpha = None
    if len(names) >= 2 and shared:
        # Rows are annotators and columns clips; NaN marks a clip the annotator did not label.
        matrix = np.array([[labels.get(n, {}).get(c, np.nan) for c in shared] for n in names], dtype=float)
        values = matrix[~np.isnan(matrix)]
        if np.unique(values).size > 1:
            alpha = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"))
        else:
            # Every label equal: alpha is undefined (0/0); identical labels agree perfectly.
            alpha = 1.0
    kappas: dict[str, float | None] = {}
    for first, second in itertools.combinations(names, 2):
        common = sorted(set(labels.get(first, {})) & set(labels.get(second, {})))
        kappa = None
        if common:
            a = [intensity_to_bin(labels[first][c]) for c in common]
            b = [intensity_to_bin(labels[second][c]) for c in common]
            if len(set(a) | set(b)) > 1:
                kappa = float(cohen_kappa_score(a, b, labels=list(range(7))))
            else:
                # Both annotators used one and the same class on every clip: perfect agreement.
                kappa = 1.0
        kappas[f"{first}|{second}"] = kappa
    defined = [k for k in kappas.values() if k is not None]
    mean_kappa = float(np.mean(defined)) if defined else None
    return AgreementReport(annotators=names, clip_count=len(shared), alpha_interval=alpha,
                           kappa_pairs=kappas, mean_kappa=mean_kappa)
