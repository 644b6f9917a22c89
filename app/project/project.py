"""The Project class: one annotation project folder with its SQLite store."""

from __future__ import annotations

import logging

from app.project.actions import ActionsMixin
from app.project.clips import ClipsMixin
from app.project.model_versions import ModelVersionsMixin
from app.project.videos import VideosMixin

log = logging.getLogger(__name__)


class Project(VideosMixin, ClipsMixin, ActionsMixin, ModelVersionsMixin):
    """An annotation project; create with :meth:`create`, open with :meth:`open`, use as a context manager.

    Attributes: ``folder``, ``db_path``, ``features_dir``, ``models_dir``,
    ``exports_dir``, ``backups_dir`` and ``probe`` (optional media probe).
    """

    def training_sets(self, base=None, valid_fraction: float = 0.2, seed: int = 0):
        """Build self-training sets; see :func:`app.project.training_sets.build_training_sets`."""
        from app.project.training_sets import build_training_sets

        return build_training_sets(self, base=base, valid_fraction=valid_fraction, seed=seed)

    def agreement(self, annotators=None):
        """Return an :class:`app.project.agreement.AgreementReport` over the per-annotator labels."""
        from app.project.agreement import compute_agreement

        return compute_agreement(self, annotators)

    def consensus_labels(self):
        """Return ``{clip_id: (mean intensity, bin)}`` over the per-annotator labels."""
        from app.project.agreement import consensus_labels

        return consensus_labels(self)
