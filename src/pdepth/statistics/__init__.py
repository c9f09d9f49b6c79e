"""Statistics: tests that resample examples and runs, nulls that keep the design, intervals, verdicts and power."""
