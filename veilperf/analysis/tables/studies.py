"""The stored sensitivity studies the report reads beyond their summaries: per experiment, the
platform profile the study varied, its index rows (every setting's parameters by influence) and its
tornado figure (drawn by `veilperf sensitivity`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from veilperf.analysis.figures.names import SENSITIVITY_FIGURE
from veilperf.analysis.tables.load import load_manifests
from veilperf.analysis.tables.profile import find_profiles
from veilperf.analysis.tables.sensitivity_summaries import load_indices

STUDY_FOLDER = "sensitivity"


@dataclass(frozen=True)
class StoredStudy:
    """One experiment's stored study."""

    experiment: str
    platforms: tuple[str, ...]  # the profile(s) the study ran on, from its manifest
    indices: pd.DataFrame  # load_indices rows of the experiment
    figure: Path | None  # the tornado figure, when it exists


def load_studies(roots: list[Path]) -> dict[str, StoredStudy]:
    """Every experiment's stored study under the results ``roots`` (first root wins)."""
    studies: dict[str, StoredStudy] = {}
    for root in roots:
        for folder in sorted(Path(root).glob(f"*/{STUDY_FOLDER}")):
            experiment = folder.parent.name
            if experiment in studies or not (folder / "manifest.yaml").is_file():
                continue
            indices = load_indices(Path(root), experiment)
            if indices.empty:
                continue
            manifest = load_manifests(folder).get(STUDY_FOLDER, {})
            figure = Path(root) / "figures" / SENSITIVITY_FIGURE.format(experiment=experiment)
            studies[experiment] = StoredStudy(experiment, tuple(find_profiles(manifest)), indices,
                                              figure if figure.is_file() else None)
    return studies
