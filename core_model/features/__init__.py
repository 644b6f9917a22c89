"""Per-modality encoders and the feature presets that combine them."""
