"""How many CPU threads torch uses during a fit.

joblib's process backends (loky, multiprocessing) and dask's worker processes tell
each worker its share of the CPUs in ``OMP_NUM_THREADS``. Torch reads that variable
only once, when it starts, and its count may have been raised since; a fit lowers the
count to the variable's share, so parallel fits do not oversubscribe the CPUs, and
puts the previous count back afterwards. A fit never uses more threads than torch
is set to.
"""

import os
from contextlib import contextmanager

import torch


def fit_threads():
    """Torch's thread count, lowered to the share a worker was given."""
    current = torch.get_num_threads()
    try:
        share = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return current
    return max(min(share, current), 1)


@contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch threads, then restore the previous count."""
    previous = torch.get_num_threads()
    if n_threads != previous:
        torch.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
