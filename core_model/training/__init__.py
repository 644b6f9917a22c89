"""Labels, losses, metrics, the trainer, self-training and checkpoints."""
