"""Process-wide runtime settings: one thread per native pool.

On shared 2-core machines two OpenMP threads made a model fit up to 210x slower than one when a
neighbour was busy, so the app, its workers, the CLI and the benchmarks all cap native thread pools.
"""

from __future__ import annotations

import os

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(n: int = 1) -> None:
    """Cap OpenMP/BLAS pools at ``n`` threads (env vars for later imports, threadpoolctl for loaded ones)."""
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(n))
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
