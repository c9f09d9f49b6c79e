"""Errors that tell the user what went wrong and what to do about it."""


class PdepthError(Exception):
    """Base class of the errors this package raises on purpose."""


class DataError(PdepthError):
    """A dataset file is missing, truncated, malformed or fails its checksum."""


class ConfigError(PdepthError):
    """The study configuration has a value the workflow cannot run with."""


class TrainingDiverged(PdepthError):
    """The training loss became NaN or infinite."""
