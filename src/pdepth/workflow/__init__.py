"""What the Snakemake workflow needs at run time: per-run stages, cluster sizes, GPU slots, logs."""
