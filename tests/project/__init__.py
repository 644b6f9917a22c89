"""Tests of the annotation project store (app.project)."""
