"""What a fit prints: a line for the neighbour search and per epoch (``verbose=1``),
and a bar within each epoch on a terminal (``verbose=2``).

Printed to standard output, as scikit-learn's estimators print their progress.
"""

import sys
import time

from .objective import TERMS

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2  # the bar is redrawn at most this often (and at each epoch's end)


class FitProgress:
    """Reports the epochs of one fit.

    Parameters
    ----------
    verbose : int
        0 prints nothing, 1 a line per epoch, 2 also a bar within each epoch.
    epochs_before : int
        Epochs of earlier fits (warm start): the numbering goes on from them.
    max_epochs : int
        Epochs this fit runs at most.
    n_batches : int
        Mini-batches per epoch.
    """

    def __init__(self, verbose, epochs_before, max_epochs, n_batches):
        self.verbose = verbose
        # A bar redrawn in place garbles a log file or a notebook's captured output:
        # only a terminal gets one.
        self.bar = verbose >= 2 and sys.stdout.isatty()
        self.first = epochs_before + 1
        self.last = epochs_before + max_epochs
        self.n_batches = n_batches
        self.start = time.perf_counter()
        self.epoch = self.first
        self._drawn_at = -float("inf")
        self._line_width = 0

    def batch_done(self, done):
        """``done`` mini-batches of the current epoch are finished."""
        if not self.bar:
            return
        now = time.perf_counter()
        if done < self.n_batches and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        filled = BAR_WIDTH * done // self.n_batches
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._write(f"epoch {self.epoch}/{self.last} [{bar}] {done}/{self.n_batches} "
                    f"batches {_duration(now - self.start)}", end="")

    def epoch_done(self, figures):
        """Print the epoch's loss terms, the time so far and an estimate of what is left."""
        if self.verbose:
            elapsed = time.perf_counter() - self.start
            run = self.epoch - self.first + 1
            left = elapsed / run * (self.last - self.epoch)
            terms = " ".join(f"{name}={figures[name]:.4g}" for name in TERMS)
            if "validation_loss" in figures:
                terms += f" validation_loss={figures['validation_loss']:.4g}"
            self._write(f"epoch {self.epoch}/{self.last} {terms} elapsed "
                        f"{_duration(elapsed)} left ~{_duration(left)}")
        self.epoch += 1

    def stage(self, text, seconds=None):
        """A step before training (the neighbour search): when it starts, and when it
        ends with the time it took."""
        if self.verbose:
            self._write(text if seconds is None else f"{text} ({_duration(seconds)})")

    def _write(self, text, end="\n"):
        # A bar is overwritten in place: return to the line start, pad over it.
        padded = text.ljust(self._line_width) if self.bar else text
        prefix = "\r" if self.bar else ""
        print(prefix + padded, end=end, file=sys.stdout, flush=True)
        self._line_width = len(text) if end == "" else 0


def _duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
