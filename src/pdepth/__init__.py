"""pdepth: prediction depth and example difficulty (Baldock, Maennel & Neyshabur, NeurIPS 2021)."""

__version__ = "0.1.0"
