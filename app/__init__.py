"""Semi-IIN Studio application: project store, services, CLI and Qt UI."""
