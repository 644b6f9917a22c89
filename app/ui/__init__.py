"""Qt user interface: windows, widgets, dialogs and the job runner."""
