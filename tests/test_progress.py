"""What a fit prints at each verbosity."""

import re
import sys

import pytest

from skmcevae import MCEVAE
from skmcevae.progress import FitProgress, _duration
from skmcevae.objective import TERMS


def test_verbose_0_prints_nothing(digits, tiny_params, capsys):
    MCEVAE(**tiny_params).fit(digits[0])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_prints_every_term_and_the_time_left_per_epoch(digits, tiny_params,
                                                                  capsys):
    model = MCEVAE(**dict(tiny_params, max_epochs=3, verbose=1)).fit(digits[0])
    searching, graph, *lines = capsys.readouterr().out.splitlines()
    assert searching == "neighbour graph: searching 60 images ..."
    assert re.fullmatch(r"neighbour graph: 7 pose-invariant neighbours of 60 images, 3 "
                        r"clusters \(\d+\.\ds\)", graph)
    # Halfway (relabel_at=0.5: after epoch 1 of 3) the graph term's targets change,
    # judged by the neighbour graph.
    relabel = lines.pop(1)
    assert re.fullmatch(r"graph term: (the model's own clusters from here on|targets "
                        r"kept, the model's clusters not taken) \(\d+% of the images "
                        r"(would )?change cluster; they put \d+% as many neighbour pairs "
                        r"together as the graph's\) \(\d+\.\ds\)", relabel)
    assert len(lines) == 3 and "\r" not in "".join(lines)
    for number, (line, epoch) in enumerate(zip(lines, model.history_), 1):
        assert line.startswith(f"epoch {number}/3 ")
        for name in TERMS:
            assert f"{name}={epoch[name]:.4g}" in line
        assert re.search(r"elapsed \d+\.\ds left ~\d+\.\ds$", line)
    assert lines[-1].endswith("left ~0.0s")


def test_verbose_2_draws_a_bar_on_a_terminal(digits, tiny_params, capsys, monkeypatch):
    # 60 images in batches of 16: 4 batches per epoch.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    MCEVAE(**dict(tiny_params, max_epochs=2, verbose=2, n_neighbors=0)).fit(digits[0])
    out = capsys.readouterr().out
    assert out.count("\n") == 2
    assert f"\repoch 1/2 [{'#' * 30}] 4/4 batches" in out
    epoch_lines = [part for part in out.split("\r") if "loss=" in part]
    assert len(epoch_lines) == 2


def test_verbose_2_draws_no_bar_into_a_log(digits, tiny_params, capsys):
    # capsys is not a terminal, as a log file or a notebook's output is not.
    MCEVAE(**dict(tiny_params, max_epochs=2, verbose=2)).fit(digits[0])
    out = capsys.readouterr().out
    assert "\r" not in out and "batches" not in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"]


def test_warm_start_numbers_epochs_on(digits, tiny_params, capsys):
    model = MCEVAE(**dict(tiny_params, warm_start=True, verbose=1)).fit(digits[0])
    model.fit(digits[0])
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("epoch")]
    assert [line.split()[1] for line in lines] == ["1/2", "2/2", "3/4", "4/4"]


def test_validation_loss_is_printed_with_early_stopping(digits, tiny_params, capsys):
    MCEVAE(**dict(tiny_params, verbose=1, validation_fraction=0.25)).fit(digits[0])
    assert "validation_loss=" in capsys.readouterr().out


def test_time_left_extrapolates_the_mean_epoch(monkeypatch, capsys):
    clock = iter([0.0, 10.0, 20.0])
    monkeypatch.setattr("skmcevae.progress.time.perf_counter", lambda: next(clock))
    progress = FitProgress(1, 0, 5, n_batches=3)
    figures = dict.fromkeys(TERMS, 1.0)
    progress.epoch_done(figures)  # 10 s for 1 epoch, 4 to go
    progress.epoch_done(figures)  # 20 s for 2 epochs, 3 to go
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("elapsed 10.0s left ~40.0s")
    assert lines[1].endswith("elapsed 20.0s left ~30.0s")


@pytest.mark.parametrize("seconds, text", [(5.25, "5.2s"), (65, "1m05s"),
                                           (3725, "1h02m")])
def test_duration(seconds, text):
    assert _duration(seconds) == text


# 2,000 steps, in at most 40 epochs; never under 1,000 steps or 20 epochs.
@pytest.mark.parametrize("n_images, batch_size, epochs", [
    (60000, 100, 20), (10000, 100, 20), (8000, 100, 25), (5000, 100, 40),
    (3000, 100, 40), (2000, 100, 50), (1797, 100, 56), (600, 100, 167), (60, 100, 1000),
    (5000, 50, 20)])
def test_auto_epochs_are_2000_steps_capped_at_40_epochs_with_floors(n_images, batch_size,
                                                                   epochs):
    from skmcevae.training import resolve_epochs
    assert resolve_epochs("auto", n_images, batch_size) == epochs
    assert resolve_epochs(7, n_images, batch_size) == 7


def test_n_threads_sets_the_fits_thread_count(digits, tiny_params):
    import torch
    before = torch.get_num_threads()
    model = MCEVAE(**dict(tiny_params, n_threads=2)).fit(digits[0])
    assert model.n_threads_ == 2 and torch.get_num_threads() == before
