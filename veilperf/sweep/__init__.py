"""Sweep layer: expand experiments into points, run them on an executor, store the records.

Modules, in data-flow order:

- :mod:`~veilperf.sweep.identity`  point ids, pair keys and seeds (content hashes, SeedSequence)
- :mod:`~veilperf.sweep.points`    expansion of an experiment into treatment and baseline points
- :mod:`~veilperf.sweep.shards`    ``--shard K/N`` subsets
- :mod:`~veilperf.sweep.worker`    the batch function that runs on a worker
- :mod:`~veilperf.sweep.executors` in-process, local-process and Dask executors
- :mod:`~veilperf.sweep.store`     ``results/<experiment>/``: part files, ``runs.parquet``, manifest
- :mod:`~veilperf.sweep.engine`    plan, execute, resume, summarise
- :mod:`~veilperf.sweep.collect`   merge shard outputs

This package file stays import-light: worker processes import :mod:`~veilperf.sweep.worker`
without pulling in pyarrow or rich.
"""
