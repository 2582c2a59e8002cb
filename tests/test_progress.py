"""What a fit prints at each verbosity."""

import re

import pytest

from skmcevae import MCEVAE
from skmcevae.progress import FitProgress, _duration
from skmcevae.training import TERMS


def test_verbose_0_prints_nothing(digits, tiny_params, capsys):
    MCEVAE(**tiny_params).fit(digits[0])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_prints_every_term_and_the_time_left_per_epoch(digits, tiny_params,
                                                                  capsys):
    model = MCEVAE(**dict(tiny_params, max_epochs=3, verbose=1)).fit(digits[0])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "\r" not in "".join(lines)
    for number, (line, epoch) in enumerate(zip(lines, model.history_), 1):
        assert line.startswith(f"epoch {number}/3 ")
        for name in TERMS:
            assert f"{name}={epoch[name]:.4g}" in line
        assert re.search(r"elapsed \d+\.\ds left ~\d+\.\ds$", line)
    assert lines[-1].endswith("left ~0.0s")


def test_verbose_2_draws_a_bar_then_the_epoch_line(digits, tiny_params, capsys):
    # 60 images in batches of 16: 4 batches per epoch.
    MCEVAE(**dict(tiny_params, max_epochs=2, verbose=2)).fit(digits[0])
    out = capsys.readouterr().out
    assert out.count("\n") == 2
    assert f"\repoch 1/2 [{'#' * 30}] 4/4 batches" in out
    epoch_lines = [part for part in out.split("\r") if "loss=" in part]
    assert len(epoch_lines) == 2


def test_warm_start_numbers_epochs_on(digits, tiny_params, capsys):
    model = MCEVAE(**dict(tiny_params, warm_start=True, verbose=1)).fit(digits[0])
    model.fit(digits[0])
    lines = capsys.readouterr().out.splitlines()
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
