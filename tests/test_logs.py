"""Console output of jobs: each line names its job; bars only for a job alone on a terminal."""

import io
import logging

import pytest

from pdepth.workflow import logs


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("terminal", "cores", "threads", "bars"),
    [(True, "8", 8, True), (True, "8", 2, False), (False, "8", 8, False), (True, "", 8, False)],
)
def test_bars_only_for_a_job_alone_on_a_terminal(monkeypatch, terminal, cores, threads, bars):
    monkeypatch.setattr("sys.stderr", Terminal() if terminal else io.StringIO())
    monkeypatch.setenv(logs.CORES, cores)
    assert logs.progress_bars(threads) is bars


def test_console_lines_name_their_job_and_the_file_keeps_the_module(monkeypatch, tmp_path):
    console = io.StringIO()
    monkeypatch.setattr("sys.stderr", console)
    monkeypatch.chdir(tmp_path)
    with logs.logged("logs/fmnist/mlp/train_seed3.log"):
        logging.getLogger("pdepth.training.loop").info("epoch 1/10  loss 0.5")
    assert "[fmnist/mlp/train_seed3] INFO: epoch 1/10  loss 0.5" in console.getvalue()
    assert (
        "INFO pdepth.training.loop: epoch 1/10  loss 0.5" in (tmp_path / "logs/fmnist/mlp/train_seed3.log").read_text()
    )
