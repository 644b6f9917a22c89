"""Recipes that rebuild the bundled encoders and default model from public data."""
