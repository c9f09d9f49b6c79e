"""The fidelity table: the paper's claims as verdicts that can fail (estimates, nulls, intervals)."""
