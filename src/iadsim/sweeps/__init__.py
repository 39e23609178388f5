"""Sweeps: a design over the parameter space, run as tasks on a local pool or a Dask cluster,
committed to a store that DuckDB queries (iadsim.views)."""

from iadsim.sweeps.run import (
    Progress,
    SweepError,
    SweepInterrupted,
    SweepReport,
    run_sweep,
)
from iadsim.sweeps.spec import Sweep, load_sweep

__all__ = ["Progress", "Sweep", "SweepError", "SweepInterrupted", "SweepReport", "load_sweep",
           "run_sweep"]
