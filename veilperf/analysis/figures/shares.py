"""An experiment's share figures: ``causes`` (what Veil's added time is made of) and
``time_per_domain`` (what each VCPU spends its time on)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from veilperf.analysis.claims.lost_records import lost_share, lost_text
from veilperf.analysis.claims.verdicts import VCPUS
from veilperf.analysis.figures.common import (CAUSES, SEP, cause_color, cause_name, fitted_title, legend_below,
                                              rows_height, stacked_rows)
from veilperf.analysis.claims.verdicts import pct_text
from veilperf.analysis.figures.style import new_figure
from veilperf.analysis.tables.columns import PLATFORM
from veilperf.analysis.tables.figdata import FigureData, sort_points
from veilperf.analysis.tables.openloop import is_open
from veilperf.analysis.tables.profile import at_calibration

ALIKE_POINTS = 10.0
"""A setting's workloads are drawn as one pooled row when no cause's share differs between them by
more than this many percentage points (else one row per workload)."""
DOMAINS = {"mon": ("VeilMon (DomMon)", "#264653"), "ser": ("services (DomSer)", "#2a9d8f"),
           "enc": ("enclave (DomEnc)", "#e9c46a"), "unt": ("kernel + apps (DomUnt)", "#8ab17d"),
           "switching": ("domain switching", "#e76f51"), "idle": ("idle", "#d9d9d9")}
"""The parts of a VCPU's time (docs/architecture.md): name for readers and colour; other
``vcpu<i>.*_ns`` columns overlap them."""
_VCPU_COLUMN = re.compile(r"^vcpu(\d+)\.(\w+)_ns$")
MAX_VCPUS_SHOWN = 4
LABEL_CHAR_INCHES = 0.065
"""Width of one character of an 8 pt row label (DejaVu Sans, measured: about 0.06 in)."""


def _overhead_text(values: pd.Series) -> str:
    """``+340%``, or ``+0.02–1,649%`` over several points."""
    low, high = values.min(), values.max()
    sign = lambda v: ("+" if v >= 0 else "") + pct_text(v)  # noqa: E731
    return sign(low) if np.isclose(low, high) else f"{sign(low)} – {pct_text(high)}"


def _cause_rows(data: FigureData, frame: pd.DataFrame, names: list[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """Row labels, cause shares (%) and right-hand texts: one pooled row per setting whose
    workloads agree within :data:`ALIKE_POINTS`, else one row per workload."""
    times = frame[names].fillna(0.0).clip(lower=0.0)
    shares = times.div(times.sum(axis=1), axis=0) * 100
    settings = data.labels(frame)
    lost = lost_share(frame)
    labels, rows, notes = [], [], []
    for setting in dict.fromkeys(settings):
        members = settings.index[settings == setting]
        spread = (shares.loc[members].max() - shares.loc[members].min()).max()
        if len(members) > 1 and spread <= ALIKE_POINTS:
            pooled = times.loc[members].sum()
            groups = [(f"{setting} ({len(members)} workloads)", members, pooled / pooled.sum() * 100)]
        else:
            groups = [(f"{frame.at[i, 'workload']}{SEP}{setting}", [i], shares.loc[i]) for i in members]
        for label, rows_of, share in groups:
            lost_most = lost.loc[rows_of].max()
            labels.append(label)
            rows.append(share.to_numpy())
            notes.append(_overhead_text(frame.loc[rows_of, "overhead_pct"])
                         + (f", {lost_text(lost_most)}" + (" at most" if len(rows_of) > 1 else "") if lost_most > 0 else ""))
    return labels, np.array(rows), notes


SEGMENT_SHOWN = 8.0
"""Segments of a share bar at least this wide (%) carry their value."""


def _segment_values(ax, y: np.ndarray, shares: np.ndarray) -> None:
    """Each wide segment's share written inside it."""
    left = np.cumsum(shares, axis=1) - shares
    for yi, row, starts in zip(y, shares, left):
        for share, start in zip(row, starts):
            if share >= SEGMENT_SHOWN:
                ax.text(start + share / 2, yi, f"{share:.0f}%", ha="center", va="center", fontsize=7, color="white")


def causes(data: FigureData) -> Figure | str | None:
    """What Veil's added time is made of (the record's ``cause.*``): one 100% bar per setting whose
    workloads split it alike (pooled over them), else per workload, the overhead (and lost audit
    records) at the right; only the causes present are named. Closed-loop points only: an
    open-loop server's added latency is mostly queueing, drawn by ``queueing``."""
    frame = at_calibration(data.over[(data.over["kind"] == "workload") & (data.over["service"] != "none")],
                           data.calibration)
    frame = frame[~is_open(frame)]
    names = [c for c in frame.columns if c.startswith("cause.") and frame[c].fillna(0.0).gt(0).any()]
    names = sorted(names, key=lambda c: list(CAUSES).index(c) if c in CAUSES else len(CAUSES))
    if frame.empty or not names:
        return None
    frame = sort_points(frame[frame[names].fillna(0.0).sum(axis=1) > 0])
    if frame.empty:
        return "no Veil-added time recorded by cause"
    labels, shares, notes = _cause_rows(data, frame, names)
    figure = new_figure(12.0, rows_height(len(labels), 2.0))
    ax = figure.subplots()
    y = np.arange(len(labels))[::-1]
    stacked_rows(ax, y, shares, [cause_color(c, i) for i, c in enumerate(names)], [cause_name(c) for c in names])
    for yi, note in zip(y, notes):
        ax.text(101, yi, note, va="center", fontsize=8)
    _segment_values(ax, y, shares)
    ax.set_yticks(y, labels, fontsize=9)
    ax.grid(False, axis="y")  # a line through the middle of every bar says nothing
    ax.set_xlim(0, 100)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("share of Veil-added time by cause (%); at the right: overhead vs SNP CVM")
    ax.spines["right"].set_visible(False)
    legend_below(figure)
    fitted_title(figure, f"What Veil's added time is made of, experiment {data.experiment} ({data.caption(frame)})")
    return figure


def _vcpu_shares(runs: pd.DataFrame, vcpus: list[int], domains: list[str]) -> np.ndarray:
    """Points x VCPUs x domains: each VCPU's time split by domain (%), NaN for a VCPU the point
    does not have."""
    out = np.full((len(runs), len(vcpus), len(domains)), np.nan)
    for i, (_, run) in enumerate(runs.iterrows()):
        times = np.array([[float(run.get(f"vcpu{v}.{d}_ns", np.nan)) for d in domains] for v in vcpus])
        totals = np.nansum(times, axis=1, keepdims=True)
        has = (totals > 0)[:, 0]
        out[i, has] = np.nan_to_num(times[has]) / totals[has] * 100
    return out


def time_per_domain(data: FigureData) -> Figure | str | None:
    """Share of each VCPU's simulated time per domain: one row per treatment point (first
    replication, at calibration), one panel per VCPU that some point runs anything on, only the
    domains some VCPU spent time in named. Only for experiments whose points run on several VCPUs
    and use a Veil domain (with one VCPU the split is the causes figure's), on one platform."""
    columns = {c: _VCPU_COLUMN.match(c).groups() for c in data.runs.columns if _VCPU_COLUMN.match(c)}
    domains = [d for d in DOMAINS if any(dom == d for _, dom in columns.values())]
    if not domains:
        return None
    runs = data.runs[(data.runs["role"] == "treatment") & (data.runs["workload"] != "boot")]
    if runs.empty or (VCPUS in runs and runs[VCPUS].max() <= 1):
        return None
    if PLATFORM in runs and runs[PLATFORM].nunique() > 1:
        return None  # an experiment comparing platforms: each platform's split is that of the one-platform experiments
    caption = data.caption(runs)
    runs = at_calibration(runs, data.calibration)
    runs = runs[runs["replication"] == runs.groupby("point")["replication"].transform("min")]
    veil = [c for c in columns if columns[c][1] in ("mon", "ser", "enc", "switching")]
    if runs.empty or not (runs[veil].fillna(0.0).to_numpy() > 0).any():
        return None
    runs = sort_points(runs)
    vcpus = sorted({int(i) for i, _ in columns.values()})
    shares = _vcpu_shares(runs, vcpus, domains)
    busy = np.nan_to_num(shares[:, :, [d != "idle" for d in domains]]).sum(axis=2).max(axis=0) > 0
    vcpus, shares = [v for v, b in zip(vcpus, busy) if b][:MAX_VCPUS_SHOWN], shares[:, busy][:, :MAX_VCPUS_SHOWN]
    left_out = int((~busy).sum())
    used = np.nan_to_num(shares).max(axis=(0, 1)) > 0  # name only the domains some VCPU spent time in
    domains, shares = [d for d, u in zip(domains, used) if u], shares[:, :, used]
    labels = list(runs["workload"] + SEP + data.labels(runs))
    matrix = shares[::-1]  # first point on top
    label_inches = LABEL_CHAR_INCHES * max(len(label) for label in labels)
    figure = new_figure(label_inches + 0.8 + 2.8 * len(vcpus), rows_height(len(labels), 2.0))
    axes = figure.subplots(1, len(vcpus), squeeze=False)[0]
    figure.get_layout_engine().set(wspace=0.06)  # "100" of one panel clear of the next one's "0"
    y = np.arange(len(labels))
    for j, ax in enumerate(axes):
        present = ~np.isnan(matrix[:, j, 0])
        stacked_rows(ax, y[present], matrix[present, j, :], [DOMAINS[d][1] for d in domains],
                     [DOMAINS[d][0] for d in domains])
        for yi in y[~present]:
            ax.text(50, yi, "no such VCPU", ha="center", va="center", fontsize=7, color="#777777")
        ax.set_ylim(-0.7, len(labels) - 0.3)
        ax.set_xlim(0, 100)
        ax.set_title(f"VCPU {vcpus[j]}")
        ax.set_xlabel("% of time")
        ax.set_yticks([])  # row labels on the first panel only: no hidden tick objects on the others
        ax.grid(False, axis="y")
    axes[0].set_yticks(y, labels[::-1], fontsize=8)
    legend_below(figure, most=len(domains), axes=axes[:1])
    shown = f"; {left_out} VCPU(s) that no point ran anything on left out" if left_out else ""
    fitted_title(figure, f"Time per domain per VCPU, experiment {data.experiment} ({caption}{shown})")
    return figure
