"""The models of one job trained side by side, each in a process of its own with its share of the job's threads: on
a small CPU two one-thread trainings get more done than one two-thread training (docs/benchmarks.md, "Models side
by side"). The training and cross-validation stages use it, each model with training.cpu_threads threads (its
weights depend on the count), so that a seed trains the same in a block of seeds as alone."""

import contextlib
import functools
import logging
import logging.handlers
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from pdepth import device
from pdepth.training import hparams

log = logging.getLogger(__name__)
PACKAGE = logging.getLogger("pdepth")


def run_all(
    task: Callable,
    items: Sequence,
    names: Sequence[str],
    threads: int,
    model_threads: int,
    on_cpu: bool,
    progress: bool = True,
) -> list:
    """``task(item, progress)`` for every item, results in their order: one after the other in this process, or side by
    side in worker processes where ``hparams.side_by_side`` trains several at once on the job's ``threads`` (at most
    the CPUs there are; no progress bars then: each worker's log lines come back here, named after their item). A
    failed item stops the job with its error, after the running ones."""
    at_once, each = hparams.side_by_side(min(threads, device.usable_cpus()), len(items), model_threads, on_cpu)
    if on_cpu and each < model_threads:
        log.warning("%d CPU thread(s) per model, not training.cpu_threads = %d: other weights", each, model_threads)
    device.configure_torch(each)
    if at_once == 1:
        return [task(item, progress) for item in items]
    log.info("%d models, %d at a time, %d thread(s) each", len(items), at_once, each)
    context = multiprocessing.get_context("spawn")  # a forked child would inherit the parent's OpenMP thread pool
    queue = context.Queue()
    listener = logging.handlers.QueueListener(queue, _Relay())
    listener.start()
    pool = ProcessPoolExecutor(
        at_once, mp_context=context, initializer=_start_worker, initargs=(each, queue, PACKAGE.getEffectiveLevel())
    )
    broken = False
    try:
        futures = [pool.submit(_named, task, item, name) for item, name in zip(items, names, strict=True)]
        wait(futures, return_when=FIRST_EXCEPTION)  # the first failure stops the job: the others not started cancelled
        failed = [future for future in futures if future.done() and not future.cancelled() and future.exception()]
        if failed:
            broken = isinstance(failed[0].exception(), BrokenProcessPool)
            raise failed[0].exception()
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if broken:  # a killed worker may hold the queue's lock: the listener could wait for ever (a daemon thread)
            listener.enqueue_sentinel()
        else:
            listener.stop()


class _Relay(logging.Handler):
    """Hands a worker's log record to this process's logger of the same name (its handlers, levels and filters)."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _start_worker(threads: int, queue, level: int) -> None:
    device.configure_torch(threads)
    PACKAGE.handlers[:] = [logging.handlers.QueueHandler(queue)]
    PACKAGE.setLevel(level)
    PACKAGE.propagate = False


def _named(task: Callable, item, name: str):
    """``task(item)`` in a worker, each of its log lines starting with ``name``; an error logged here, when it
    happens, and named (a note on the exception, which the job raises)."""
    with _prefixed(name):
        try:
            return task(item, False)
        except Exception as error:
            log.exception("failed")
            error.add_note(f"(in {name}, trained side by side)")
            raise


@contextlib.contextmanager
def _prefixed(name: str):
    prefix = functools.partial(_prefix, name)
    for handler in PACKAGE.handlers:
        handler.addFilter(prefix)
    try:
        yield
    finally:
        for handler in PACKAGE.handlers:
            handler.removeFilter(prefix)


def _prefix(name: str, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    record.msg, record.args = message if message.startswith(name) else f"{name}: {message}", None
    return True
