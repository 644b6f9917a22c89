"""Per-clip feature samples, batching, datasets and corpus loaders."""
