"""The tornado figure of a study: per workload, its parameters sorted by influence.

Morris: a bar of mu* (mean absolute elementary effect: how far the metric moves when the parameter
steps 2/3 of its range) and a dot at sigma (spread of those effects: interactions or
non-linearity). Sobol: a bar of ST (total-order index, with its 95% confidence) over a darker bar
of S1 (first-order). One panel per workload x service at the experiment's reference setting, and
(boot) at that setting with one guest axis at its last value (the ``featured`` rows).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from veilperf.analysis.figures.common import fit
from veilperf.analysis.figures.names import SENSITIVITY_FIGURE

__all__ = ["tornado", "figure_path", "panel_titles", "MAX_PARAMS"]

MAX_PARAMS = 8  # bars per panel
DPI = 130
TITLE_POINTS = 9
PANEL_MARGIN_INCHES = 1.7
"""A panel's share of the figure width that its title cannot use: the parameter names left of it."""
_UNITS = {"overhead_pct": "overhead, % points", "boot_increment_s": "boot increment, s"}


def figure_path(results_root: str | Path, experiment: str) -> Path:
    """``<results>/figures/sensitivity_<experiment>.png``."""
    return Path(results_root) / "figures" / SENSITIVITY_FIGURE.format(experiment=experiment)


def _panel(ax, rows: pd.DataFrame, title: str) -> None:
    morris = rows["method"].iloc[0] == "morris"
    size = "mu_star" if morris else "ST"
    rows = rows.sort_values(size, ascending=False).head(MAX_PARAMS).iloc[::-1]
    y = range(len(rows))
    if morris:
        ax.barh(y, rows["mu_star"], color="#4c72b0", label="mu*")
        ax.plot(rows["sigma"], y, "o", color="#dd8452", markersize=5, label="sigma")
    else:
        ax.barh(y, rows["ST"], color="#a1c9f4", label="ST")
        ax.barh(y, rows["S1"].clip(lower=0), height=0.45, color="#1f5fa8", label="S1")
        ax.errorbar(rows["ST"], y, xerr=rows["ST_conf"], fmt="none", ecolor="black", capsize=2, zorder=3)
    ax.set_yticks(list(y), rows["param"], fontsize=9)
    ax.set_title(title, fontsize=TITLE_POINTS)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)


def panel_titles(keys: list[tuple[str, str, str]]) -> list[str]:
    """``workload · service`` per (workload, service, setting), with the setting's ``key=value`` parts
    that tell it from the other settings of that workload and service (none when it is the only one):
    the parts every setting shares would repeat the study's design in every panel."""
    settings: dict[tuple[str, str], list[set[str]]] = {}
    for workload, service, setting in keys:
        settings.setdefault((workload, service), []).append(set(setting.split()))
    titles = []
    for workload, service, setting in keys:
        shared = set.intersection(*settings[(workload, service)])
        name = workload if service == "none" else f"{workload} · {service}"
        differs = " ".join(_part_text(part) for part in setting.split() if part not in shared)
        titles.append(name + (f"\n{differs}" if differs else ""))
    return titles


def _part_text(part: str) -> str:
    """``log.rules=select:all`` as ``rules select:all``; commas get a space, so a title can break there."""
    key, _, value = part.partition("=")
    return f"{key.rsplit('.', 1)[-1]} {value.replace(',', ', ')}" if value else part


def tornado(indices: pd.DataFrame, out: str | Path | None = None):
    """Draw the figure for one experiment's index rows (its featured settings); save it to ``out``
    (PNG, at most 2400 px a side) when given. Returns the matplotlib figure."""
    from matplotlib.figure import Figure

    rows = indices[indices["featured"]] if "featured" in indices else indices
    groups = list(rows.groupby(["workload", "service", "setting"], sort=False))
    cols = min(2 if len(groups) <= 4 else 4, len(groups))
    lines = math.ceil(len(groups) / cols)
    fig = Figure(figsize=((5.8 if cols <= 2 else 4.3) * cols, 1.0 + 2.9 * lines), dpi=DPI)
    axes = fig.subplots(lines, cols, squeeze=False)
    title_inches = fig.get_figwidth() / cols - PANEL_MARGIN_INCHES
    for ax, title, (_, group) in zip(axes.flat, panel_titles([key for key, _ in groups]), groups):
        _panel(ax, group, fit(title, title_inches, TITLE_POINTS))
    for ax in list(axes.flat)[len(groups):]:
        ax.remove()
    axes.flat[0].legend(loc="lower right", fontsize=8)
    first = rows.iloc[0]
    method = "Morris mu* (bar) and sigma (dot)" if first["method"] == "morris" else "Sobol ST (bar, 95% CI) and S1"
    fig.suptitle(f"{first['experiment']}: which assumed costs move the prediction\n{method}; "
                 f"{_UNITS.get(first['metric'], first['metric'])}", fontsize=11)
    fig.tight_layout()
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=DPI, metadata={"Software": None})
    return fig
