"""Figures of the paper, drawn from cubes and metrics files; ``registry`` lists them."""
