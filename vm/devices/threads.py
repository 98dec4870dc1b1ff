"""Numba's thread pool for the device kernels that spread independent work over the cores
(``pbit.ising_colour_parallel``, ``langevin.relax_blocks_parallel``; each piece of work
draws from its own substream, so the numbers do not depend on the thread count).

Imported by those modules, it starts the pool before any kernel runs: a cached function
that calls a parallel one (``ising_sweep``, ``relax``, the interpreter) is loaded from
Numba's cache without starting it, and then crashes in its first parallel region (Numba
0.68; measured: a segmentation fault in a fresh process). Starting the pool costs ~25-70 ms
once a process. OpenMP threads wait for work passively unless OMP_WAIT_POLICY says
otherwise: spinning workers on a machine whose cores are busy made each parallel region
take a scheduler tick (5-20 ms for ~0.1 ms of work, measured on the 2-core machine);
NUMBA_NUM_THREADS=1 runs every kernel on one thread (the same numbers).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when the OpenMP runtime loads, below

import numba  # noqa: E402

THREADS = numba.get_num_threads()  # starts the pool
