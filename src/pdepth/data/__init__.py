"""Datasets: locating raw files, verifying them, and the prepared on-disk format."""
