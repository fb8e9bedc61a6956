"""Test-session settings: one BLAS thread (the suite's matrices are small, and
multi-threaded BLAS made them several times slower on 2-core CI machines)."""
import nnopt

nnopt.config.set(blas_threads=1)
