"""The vectorised pre-filter of ``experiment_axes`` finds the axes the straightforward count finds:
every column's distinct values counted per experiment, then per workload (list cells as tuples)."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veilperf.analysis.tables.pairing import _NOT_AXES, _hashable, experiment_axes


def reference_axes(df: pd.DataFrame) -> dict[str, list[str]]:
    """``experiment_axes`` as it was written before the pre-filter: a count per column."""
    treatment = df[df["role"] == "treatment"]
    candidates = [c for c in df.columns if c.startswith("cfg.") and not c.startswith(_NOT_AXES)]
    axes = {}
    for experiment, rows in treatment.groupby("experiment", sort=True):
        varying = [c for c in candidates if _hashable(rows[c]).nunique(dropna=False) > 1]
        counts = rows[varying].apply(_hashable).groupby(rows["workload"]).nunique(dropna=False)
        axes[experiment] = sorted(c for c in varying if (counts[c] > 1).any())
    return axes


def frame(columns: dict[str, list], experiments: list[str], workloads: list, roles: list[str] | None = None):
    roles = roles or ["treatment"] * len(experiments)
    return pd.DataFrame({"experiment": experiments, "workload": workloads, "role": roles, **columns})


NAN = float("nan")
CELLS = {
    "none_and_nan": [None, NAN, None, NAN],
    "numpy_nan_and_nan": [np.float64("nan"), NAN, NAN, np.float64("nan")],
    "pandas_na": [pd.NA, pd.NA, 1, 1],
    "pandas_na_and_none": [pd.NA, None, None, pd.NA],
    "int_float_bool": [1, 1.0, True, 1],
    "signed_zero": [0.0, -0.0, 0.0, -0.0],
    "str_and_numpy_str": ["a", np.str_("a"), "a", "a"],
    "str_and_nan": ["a", "a", NAN, "a"],
    "one_item_array_and_scalar": [np.array([5]), 5, 5, np.array([5])],
    "lists_and_arrays": [[1, 2], np.array([1, 2]), (1, 2), [1, 2]],
    "array_and_none": [np.array([1.0, 2.0]), None, None, np.array([1.0, 2.0])],
    "tuples_with_nan": [(1, NAN), (1, NAN), (1, NAN), (1, NAN)],
    "decimal_nan": [Decimal("NaN"), Decimal("NaN"), NAN, None],
    "timestamps": [pd.Timestamp(0), pd.Timestamp(0), pd.NaT, pd.Timestamp(1)],
}


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("split", ["one workload", "two workloads", "two experiments"])
def test_tricky_object_cells(name: str, split: str) -> None:
    values = pd.Series(CELLS[name], dtype=object)
    experiments = ["e", "e", "f", "f"] if split == "two experiments" else ["e"] * 4
    workloads = ["w", "v", "w", "v"] if split == "two workloads" else ["w"] * 4
    df = frame({"cfg.x": values, "cfg.y": [1.0, 2.0, 3.0, 4.0]}, experiments, workloads)
    assert experiment_axes(df) == reference_axes(df)


def test_list_cells_are_not_taken_for_their_item() -> None:
    """``[5]`` and ``5`` are two values (``==`` on an array would say they are one)."""
    df = frame({"cfg.x": pd.Series([np.array([5]), 5], dtype=object)}, ["e", "e"], ["w", "w"])
    assert experiment_axes(df) == reference_axes(df) == {"e": ["cfg.x"]}


def test_every_missing_value_is_one_value_per_workload() -> None:
    """None beside NaN is no axis: the per-workload count takes every missing value for the same."""
    df = frame({"cfg.x": pd.Series([None, NAN, "a", "a"], dtype=object)}, ["e"] * 4, ["w", "w", "v", "v"])
    assert experiment_axes(df) == reference_axes(df) == {"e": []}


def test_numeric_nan_and_extension_dtypes() -> None:
    df = frame(
        {
            "cfg.f": [NAN, NAN, 1.0, NAN],
            "cfg.i": [1, 1, 2, 1],
            "cfg.b": [True, True, True, False],
            "cfg.s": pd.Series(["a", None, "a", "a"], dtype="str"),
            "cfg.n": pd.array([1, None, 1, 1], dtype="Int64"),
            "cfg.c": pd.Categorical(["a", "a", "b", "a"]),
            "cfg.t": pd.to_datetime([0, None, 0, 0]),
            "cfg.seed": [1, 2, 3, 4],
        },
        ["e", "e", "f", "f"],
        ["w"] * 4,
    )
    assert experiment_axes(df) == reference_axes(df) == {
        "e": ["cfg.n", "cfg.s", "cfg.t"], "f": ["cfg.b", "cfg.c", "cfg.f", "cfg.i"],
    }


def test_single_rows_missing_workloads_and_no_treatment() -> None:
    df = frame({"cfg.x": [1, 2, 3]}, ["a", "b", "b"], ["w", None, None])
    assert experiment_axes(df) == reference_axes(df) == {"a": [], "b": []}
    baselines = frame({"cfg.x": [1, 2]}, ["a", "a"], ["w", "w"], ["baseline", "baseline"])
    assert experiment_axes(baselines) == reference_axes(baselines) == {}


POOL = [None, NAN, np.float64("nan"), pd.NA, 0, 1, 1.0, True, False, -0.0, "a", "b", (1,), (1, NAN), [1], np.array([1])]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_frames(data: st.DataObject) -> None:
    rows = data.draw(st.integers(1, 8))
    pick = st.lists(st.sampled_from(range(len(POOL))), min_size=rows, max_size=rows)
    columns = {f"cfg.{k}": pd.Series([POOL[i] for i in data.draw(pick)], dtype=object) for k in range(4)}
    columns["cfg.num"] = data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.0, NAN]), min_size=rows, max_size=rows))
    experiments = data.draw(st.lists(st.sampled_from(["e", "f"]), min_size=rows, max_size=rows))
    workloads = data.draw(st.lists(st.sampled_from(["w", "v", None]), min_size=rows, max_size=rows))
    roles = data.draw(st.lists(st.sampled_from(["treatment", "baseline"]), min_size=rows, max_size=rows))
    df = frame(columns, experiments, workloads, roles)
    assert experiment_axes(df) == reference_axes(df)
