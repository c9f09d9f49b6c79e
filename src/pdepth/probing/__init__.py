"""k-NN probes and prediction depth: embeddings, neighbour search, reduction, the public probing API."""
