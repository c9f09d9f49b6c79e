"""The workflow's result files: the NetCDF cube, per-example tables, and opening a model's results."""
