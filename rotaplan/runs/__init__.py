"""Running solves: the solve-check-write pipeline, batches, sweeps, re-planning,
background jobs and the store of saved scenarios and runs."""
