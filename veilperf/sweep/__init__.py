"""Sweep layer: expand experiments into points, run them on an executor, store the records.

Modules, in data-flow order:

- :mod:`~veilperf.sweep.identity`  point ids, pair keys and seeds (content hashes, SeedSequence)
- :mod:`~veilperf.sweep.points`    expansion of an experiment into treatment and baseline points
- :mod:`~veilperf.sweep.options`   command-line options: ``--shard K/N``, ``--jobs``, executors
- :mod:`~veilperf.sweep.batching`  batches of about half a second of work
- :mod:`~veilperf.sweep.worker`    the batch function that runs on a worker
- :mod:`~veilperf.sweep.executors` in-process, local-process and Dask executors
- :mod:`~veilperf.sweep.table`     records to Arrow tables, merging independent of batching
- :mod:`~veilperf.sweep.store`     ``results/<experiment>/``: part files, ``runs.parquet``
- :mod:`~veilperf.sweep.manifest`  ``manifest.yaml`` and the git commit
- :mod:`~veilperf.sweep.progress`  progress bar on a terminal
- :mod:`~veilperf.sweep.engine`    plan, execute, resume, summarise
- :mod:`~veilperf.sweep.collect`   merge shard outputs

This package file imports nothing, so workers load only what :mod:`~veilperf.sweep.worker` needs.
"""
