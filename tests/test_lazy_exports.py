"""Packages whose names are imported on first use (``veilperf.lazy``) list them in a literal
``__all__`` (linters and type checkers read only literals): it must name exactly the lazy exports,
and each must resolve (the module the table names defines it)."""

import importlib

import pytest

PACKAGES = ["veilperf.sensitivity", "veilperf.analysis", "veilperf.analysis.figures"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exactly_the_lazy_exports(name):
    package = importlib.import_module(name)
    assert sorted(package.__all__) == sorted(package._EXPORTS)
    assert len(set(package.__all__)) == len(package.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_each_listed_name_resolves(name):
    package = importlib.import_module(name)
    missing = [export for export in package.__all__ if not hasattr(package, export)]
    assert missing == []
