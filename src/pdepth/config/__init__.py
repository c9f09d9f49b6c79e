"""Settings: the config's schema, its checks, the typed study and the record of each job (torch-free)."""
