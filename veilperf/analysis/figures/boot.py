"""The boot figure: boot time of the SNP CVM and of Veil against guest memory and VCPUs, and
Veil's increment against the paper's 2 s, one colour per acceptance policy in every panel."""

from __future__ import annotations

from matplotlib.figure import Figure

from veilperf.analysis.claims.verdicts import ACCEPTANCE, BOOT_CLAIM_S, GIB, MEMORY, VCPUS, largest_under_claim
from veilperf.analysis.figures.common import fitted_title, legend_below
from veilperf.analysis.figures.style import CLAIM_LINE_COLOR, PLAIN, log_axis, new_figure
from veilperf.analysis.tables.figdata import FigureData
from veilperf.analysis.tables.profile import at_calibration

ACCEPTANCE_COLORS = {"eager": "#1f77b4", "lazy": "#ff7f0e", "default": "#2ca02c"}
"""One colour per acceptance policy, in every panel; CVM dashed with circles, Veil solid with squares."""


def _guest(memory: float, vcpus: float) -> str:
    return f"{memory / GIB:g} GiB at up to {vcpus:g} VCPU" + ("" if vcpus == 1 else "s")


def boot_time(data: FigureData) -> Figure | str | None:
    """Boot time vs memory and VCPUs (cvm vs veil, eager vs lazy) and Veil's increment with the 2 s
    line and its assumption range; the largest guest under 2 s at calibration named."""
    frame = data.over[data.over["kind"] == "boot"]
    if frame.empty or MEMORY not in frame or VCPUS not in frame:
        return None
    frame = frame.assign(acceptance=frame[ACCEPTANCE] if ACCEPTANCE in frame else "default")
    calibrated = at_calibration(frame, data.calibration)
    small_vcpus, small_memory = frame[VCPUS].min(), frame[MEMORY].min()
    figure = new_figure(11.0, 8.6)
    (mem_ax, cpu_ax), (mem_inc, cpu_inc) = figure.subplots(2, 2)
    policies = sorted(frame["acceptance"].unique())
    for x_col, fixed_col, fixed, ax, inc_ax, scale, unit in (
        (MEMORY, VCPUS, small_vcpus, mem_ax, mem_inc, GIB, "guest memory (GiB)"),
        (VCPUS, MEMORY, small_memory, cpu_ax, cpu_inc, 1, "VCPUs"),
    ):
        for acceptance in policies:
            color = ACCEPTANCE_COLORS.get(acceptance, "#7f7f7f")
            curve = calibrated[(calibrated[fixed_col] == fixed) & (calibrated["acceptance"] == acceptance)]
            curve = curve.sort_values(x_col)
            x = curve[x_col] / scale
            ax.plot(x, curve["baseline_cost_ns"] / 1e9, marker="o", linestyle="--", color=color,
                    label=f"SNP CVM, {acceptance} acceptance")
            ax.plot(x, curve["treatment_cost_ns"] / 1e9, marker="s", color=color, label=f"Veil, {acceptance} acceptance")
            inc_ax.plot(x, curve["increment_ns"] / 1e9, marker="s", color=color, label=f"_Veil, {acceptance}")
            spread = frame[(frame[fixed_col] == fixed) & (frame["acceptance"] == acceptance)]
            spread = spread.groupby(x_col, sort=True)["increment_ns"].agg(["min", "max"])
            if len(data.calibration) and len(spread):
                inc_ax.fill_between(spread.index / scale, spread["min"] / 1e9, spread["max"] / 1e9, color=color,
                                    alpha=0.15, label=f"Veil's increment, {acceptance}: over the assumption range")
        fixed_text = f"{fixed / GIB:g} GiB" if fixed_col == MEMORY else f"{fixed:g} VCPU" + ("" if fixed == 1 else "s")
        for axis, what in ((ax, "boot time (s)"), (inc_ax, "Veil's boot increment (s)")):
            axis.set_xscale("log", base=2)
            axis.xaxis.set_major_formatter(PLAIN)
            axis.set_xlabel(unit)
            axis.set_ylabel(what)
            axis.set_title(f"{what.split(' (')[0]}, {fixed_text}", fontsize=10)
        if (frame["increment_ns"] > 0).all():
            log_axis(inc_ax, "y")
        inc_ax.axhline(BOOT_CLAIM_S, color=CLAIM_LINE_COLOR, linestyle=":", label=f"paper's claim: < {BOOT_CLAIM_S:g} s")
    largest = largest_under_claim(frame, data.calibration)
    if largest:
        mem_inc.text(0.02, 0.97, "largest guest < 2 s at calibration:\n" + "\n".join(
            f"{a}: {_guest(*g) if g else 'none'}" for a, g in largest.items()), transform=mem_inc.transAxes,
            va="top", fontsize=8, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    legend_below(figure, points=8, most=3, axes=(mem_ax, mem_inc))
    fitted_title(figure, f"Boot time, SNP CVM vs Veil ({data.caption(frame)})")
    return figure
