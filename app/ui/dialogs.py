"""Small dialogs: keyboard shortcuts, bulk accept with a preview count, and settings."""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.ui.shortcuts import Shortcut

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
FEATURE_PRESETS = ("lite", "paper")


class ShortcutsDialog(QDialog):
    """A table of every keyboard shortcut and what it does."""

    def __init__(self, shortcuts: tuple[Shortcut, ...], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(shortcuts), 2, self)
        self.table.setHorizontalHeaderLabels(("Keys", "Command"))
        for row, shortcut in enumerate(shortcuts):
            self.table.setItem(row, 0, QTableWidgetItem(", ".join(shortcut.keys)))
            self.table.setItem(row, 1, QTableWidgetItem(shortcut.text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(420, 520)


class BulkAcceptDialog(QDialog):
    """Choose a minimum confidence; the preview count updates as the value changes."""

    def __init__(self, count_for: Callable[[float], int], parent: QWidget | None = None, initial: float = 0.9):
        super().__init__(parent)
        self.setWindowTitle("Bulk accept predictions")
        self._count_for = count_for
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(initial)
        self.preview = QLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Minimum confidence", self.threshold)
        form.addRow(self.preview)
        form.addRow(self.buttons)
        self.threshold.valueChanged.connect(self._update_preview)
        self._update_preview(self.threshold.value())

    def count(self) -> int:
        return self._count_for(self.threshold.value())

    def _update_preview(self, value: float) -> None:
        count = self._count_for(value)
        self.preview.setText(f"{count} unreviewed clip(s) with confidence >= {value:.2f} will be accepted.")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(count > 0)


class AppSettings:
    """Application settings kept in QSettings: device, feature preset, models folder, downloads.

    The window passes the preset, models folder and download permission to
    analysis, and the device to retraining.
    """

    def __init__(self, settings: QSettings | None = None):
        self.qsettings = settings or QSettings("Semi-IIN Studio", "semi-iin-studio")

    @property
    def device(self) -> str:
        value = str(self.qsettings.value("device", "auto"))
        return value if value in DEVICES else "auto"

    @property
    def feature_preset(self) -> str:
        value = str(self.qsettings.value("feature_preset", "lite"))
        return value if value in FEATURE_PRESETS else "lite"

    @property
    def models_folder(self) -> str:
        return str(self.qsettings.value("models_folder", ""))

    @property
    def allow_downloads(self) -> bool:
        return str(self.qsettings.value("allow_downloads", "false")).lower() == "true"

    def recent_projects(self) -> list[str]:
        value = self.qsettings.value("recent_projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_project(self, folder: str, limit: int = 8) -> None:
        recent = [folder] + [f for f in self.recent_projects() if f != folder]
        self.qsettings.setValue("recent_projects", recent[:limit])

    def update(self, device: str, feature_preset: str, models_folder: str, allow_downloads: bool) -> None:
        self.qsettings.setValue("device", device)
        self.qsettings.setValue("feature_preset", feature_preset)
        self.qsettings.setValue("models_folder", models_folder)
        self.qsettings.setValue("allow_downloads", "true" if allow_downloads else "false")
        self.qsettings.sync()
        logger.info("settings saved: device=%s preset=%s models=%r downloads=%s",
                    device, feature_preset, models_folder, allow_downloads)


class SettingsDialog(QDialog):
    """Edit the application settings; OK saves them."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.device = QComboBox(self)
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.preset = QComboBox(self)
        self.preset.addItems(FEATURE_PRESETS)
        self.preset.setCurrentText(settings.feature_preset)
        self.models_folder = QLineEdit(settings.models_folder, self)
        self.models_folder.setPlaceholderText("default: the bundled models")
        browse = QPushButton("Browse...", self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.models_folder, 1)
        folder_row.addWidget(browse)
        self.allow_downloads = QCheckBox("Allow downloading encoder weights (off: use only local files)", self)
        self.allow_downloads.setChecked(settings.allow_downloads)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Device", self.device)
        form.addRow("Feature preset", self.preset)
        form.addRow("Models folder", folder_row)
        form.addRow(self.allow_downloads)
        form.addRow(buttons)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.setMinimumWidth(480)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.models_folder.text())
        if folder:
            self.models_folder.setText(folder)

    def _save(self) -> None:
        self.settings.update(self.device.currentText(), self.preset.currentText(), self.models_folder.text().strip(),
                             self.allow_downloads.isChecked())
        self.accept()
