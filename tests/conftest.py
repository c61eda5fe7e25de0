"""Shared test settings: quiet progress bars, a private checkpoint cache, a fixed thread count."""
import os

import pytest

os.environ.setdefault("LABKIT_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

# Under pytest-xdist each worker runs its own notebooks: one BLAS/OpenMP thread per kernel keeps two
# workers from oversubscribing two cores. A notebook and its nbval replay share the setting, so the
# recorded numbers still reproduce exactly.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny problems (faster and steadier on a shared 2-core machine:
    no OpenMP spin-waits); the previous count is restored afterwards. Opt in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    from labkit.core.threads import threads

    with threads(1):
        yield
