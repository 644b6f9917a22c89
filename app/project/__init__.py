"""Annotation projects: SQLite store, history, import and export (no Qt)."""
