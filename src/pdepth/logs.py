"""Logging for workflow steps: clean lines in the rule's log file and on the console, errors included."""

import contextlib
import logging
import sys
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | Path | None, level: int = logging.INFO):
    """Send this package's log records to ``log_path`` and stderr; record any exception before it propagates."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger("pdepth")
    root.setLevel(level)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    try:
        yield root
    except Exception:
        root.exception("failed")
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
