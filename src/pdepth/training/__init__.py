"""Training runs: hyper-parameters, losses, the loop with its recorded predictions, checkpoints."""
