"""Test-wide set-up: one BLAS thread. On a loaded 2-core machine multi-threaded OpenBLAS made tiny SVDs
about 100x slower (measured: 0.55 s vs 4 ms for 90 x 200); the workflow's jobs pin it the same way."""

from threadpoolctl import threadpool_limits

threadpool_limits(limits=1)
