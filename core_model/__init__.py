"""Semi-IIN machine-learning core: model, training, data, media and features.

Nothing in this package imports Qt or the ``app`` package.
"""

__version__ = "0.1.0"
