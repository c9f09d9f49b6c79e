"""k-NN probes and prediction depth: embeddings, neighbour search, reduction, the probe stage's file (the public
API that runs them on any model: pdepth.api)."""
