"""One function per workflow stage, from input files to output files; the Snakemake scripts only call these."""
