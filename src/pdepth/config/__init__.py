"""Settings: the config's checks, the typed study and the record of each job (torch-free; the schema: pdepth.schema)."""
