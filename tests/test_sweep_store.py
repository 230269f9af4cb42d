"""Results store: tables independent of batching, what counts as finished, compaction, options."""

from __future__ import annotations

import sys

import numpy as np

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from veilperf.sweep.executors import open_executor
from veilperf.sweep.options import SweepError, check_executor, parse_jobs
from veilperf.sweep.store import ResultsStore
from veilperf.sweep.table import merge_tables, records_to_table

RECORDS = [
    {"point_id": "b", "error": "", "completed": 3, "latency": 1},
    {"point_id": "a", "error": "", "completed": 2, "latency": 2.5, "extra": "x"},
    {"point_id": "c", "error": "ValueError: boom"},
]


@pytest.mark.parametrize("cuts", [[3], [1, 2], [1, 1, 1], [2, 1]])
def test_merged_table_does_not_depend_on_batching(cuts):
    tables, start = [], 0
    for size in cuts:
        tables.append(records_to_table(RECORDS[start:start + size]))
        start += size
    merged = merge_tables(tables)
    assert merged.column("point_id").to_pylist() == ["a", "b", "c"]
    assert merged.schema.field("completed").type == pa.int64()  # null fills, no float promotion
    assert merged.schema.field("latency").type == pa.float64()  # 1 and 2.5 make a float column
    assert merged.column("extra").to_pylist() == ["x", None, None]
    assert merged.column_names[:2] == ["point_id", "error"]  # identity columns first, the rest by name
    assert merged.column_names[2:] == ["completed", "extra", "latency"]


def test_last_row_of_a_point_wins_and_keep_filters():
    old = records_to_table([{"point_id": "a", "error": "", "v": 1}, {"point_id": "z", "error": "", "v": 9}])
    new = records_to_table([{"point_id": "a", "error": "", "v": 2}])
    merged = merge_tables([old, new], keep={"a"})
    assert merged.to_pylist() == [{"point_id": "a", "error": "", "v": 2}]


def test_mixed_value_types_in_one_column_are_a_clear_error():
    with pytest.raises(SweepError, match="'v'"):
        records_to_table([{"point_id": "a", "v": 1}, {"point_id": "b", "v": "text"}])


def test_finished_ids_skip_failures_and_leftover_temporaries(tmp_path):
    store = ResultsStore(tmp_path / "exp")
    store.write_part(records_to_table(RECORDS))
    (store.parts_dir / ".00000000000000000001-deadbeef.arrow.tmp").write_bytes(b"half a file")
    assert store.finished_ids() == {"a", "b"}
    store.compact(keep={"a", "b", "c"})
    assert not store.parts_dir.exists() and pq.read_table(store.runs_path).num_rows == 3
    assert store.finished_ids() == {"a", "b"}


def test_option_errors():
    for text in ("0", "-1", "two"):
        with pytest.raises(SweepError, match="--jobs"):
            parse_jobs(text)
    with pytest.raises(SweepError, match="--executor"):
        check_executor("slurm", None)
    with pytest.raises(SweepError, match="--scheduler needs --executor dask"):
        check_executor("local", "tcp://127.0.0.1:8786")


def test_missing_dask_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(SweepError, match=r"pip install 'veilperf\[dask\]'"):
        with open_executor("dask", 1):
            pass


class _Plan:
    def __init__(self, n: int) -> None:
        self.todo = list(range(n))


def test_batches_probe_then_hold_about_half_a_second_of_work():
    from veilperf.sweep.batching import FIRST_BATCH, MAX_BATCH, TARGET_BATCH_S, Batcher

    cheap, costly = _Plan(5000), _Plan(40)
    batcher = Batcher([cheap, costly], workers=2)
    plan, handed = batcher.next()
    assert plan is cheap and handed == list(range(FIRST_BATCH))
    batcher.record(cheap, FIRST_BATCH, FIRST_BATCH * 0.001)  # 1 ms per point
    batch = batcher.next()[1]
    assert len(batch) == min(MAX_BATCH, int(TARGET_BATCH_S / 0.001))
    handed += batch
    while (next_batch := batcher.next())[0] is cheap:
        handed += next_batch[1]
    assert handed == cheap.todo  # every point once, in order
    assert next_batch[1] == list(range(FIRST_BATCH))  # the next experiment starts with a probe
    batcher.record(costly, FIRST_BATCH, 2.0)  # 1 s per point: one point per batch
    assert batcher.next()[1] == [FIRST_BATCH]
    rest = []
    while (next_batch := batcher.next()) is not None:
        rest += next_batch[1]
    assert rest == list(range(FIRST_BATCH + 1, 40))


def test_last_batches_are_split_between_workers():
    from veilperf.sweep.batching import Batcher

    plan = _Plan(10)
    batcher = Batcher([plan], workers=2)
    batcher.next()
    batcher.record(plan, 2, 0.0002)  # cheap: the size cap would allow all 8 left
    assert len(batcher.next()[1]) == 4  # but half goes to the other worker


def test_finished_ids_read_again_when_a_part_is_merged_away_meanwhile(tmp_path, monkeypatch):
    """An unlocked reader (--dry-run) beside a sweep: a part listed, then compacted away before it
    is read, makes the store read its files again instead of failing."""
    from veilperf.sweep import store as store_module

    store = ResultsStore(tmp_path / "exp")
    store.write_part(records_to_table(RECORDS))
    real, calls = store_module._read, []

    def vanishing_once(path, columns=None):
        calls.append(path)
        if len(calls) == 1:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path, columns)

    monkeypatch.setattr(store_module, "_read", vanishing_once)
    assert store.finished_ids() == {"a", "b"} and len(calls) == 2


def test_compaction_a_chunk_at_a_time_equals_merging_every_table_at_once(tmp_path, monkeypatch):
    """runs.parquet and the superseded set written a few rows at a time (CHUNK_ROWS = 3) equal the
    in-memory merge of every stored table: last row of a point wins, types promoted (an int column
    becoming float in a later part, a column only some parts have), rows sorted by point id."""
    from veilperf.sweep import merge

    monkeypatch.setattr(merge, "CHUNK_ROWS", 3)
    rng = np.random.default_rng(5)
    store = ResultsStore(tmp_path / "exp")
    ids = [f"{i:016x}" for i in rng.permutation(40)]
    store.write_part(records_to_table([{"point_id": p, "error": "", "n": i} for i, p in enumerate(ids[:15])]))
    store.compact(keep=set(ids))  # an earlier runs.parquet, read back by row group
    for start, stop, extra in ((10, 25, "text"), (20, 40, None)):
        store.write_part(records_to_table([{"point_id": p, "error": "", "n": i + 0.5, **({"extra": extra} if extra else {})}
                                           for i, p in enumerate(ids[start:stop], start)]))
    everything = merge_tables(store.read_all())
    keep = set(ids[5:33])
    done = store.compact(keep)
    assert pq.read_table(store.runs_path).equals(merge_tables([everything], keep=keep))
    assert pq.read_table(store.runs_path).num_rows == len(keep) and done.dropped == 40 - len(keep)
    assert pq.read_table(done.superseded).equals(merge_tables([everything], keep=set(ids) - keep))
    assert pq.ParquetFile(store.runs_path).num_row_groups == -(-len(keep) // 3)
