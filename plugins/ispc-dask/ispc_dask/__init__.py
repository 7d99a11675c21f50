"""ispc-dask: the ``dask`` proof executor (proof jobs on a ``distributed`` cluster)."""
