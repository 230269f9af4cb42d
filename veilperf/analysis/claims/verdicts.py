"""The paper's three headline claims, each checked against simulated overheads.

The paper's numbers appear here only as the CLAIMS being checked (the thresholds a simulated
value is compared with); they are never an input to any simulated or computed value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from veilperf.analysis.tables.pairing import ONEOFF_FLAG_SHARE
from veilperf.analysis.tables.columns import ACCEPTANCE, FIRST_TOUCH, MEMORY, PLATFORM, VCPU_MODEL, VCPUS
from veilperf.analysis.tables.profile import at_calibration, describe_point
from veilperf.services.log import DEFAULTS as _LOG_DEFAULTS

SERVICE_CLAIM_PCT = (2.0, 64.0)
"""Paper's abstract: protected services cost 2-64% across real-world use cases (claim checked)."""

BOOT_CLAIM_S = 2.0
"""Paper (via its published summary): Veil grows boot time by less than 2 s (claim checked)."""

NORMAL_TOLERANCE_PCT = 0.5
"""The paper does not quantify "no discernible slowdown"; this project reads it as |overhead| at
most 0.5% (the acceptance tolerance of the normal-execution experiment, issue 5)."""

DEFAULT_GUEST = (1, 2**30)
"""The prototype's default guest: 1 VCPU, 1 GiB (docs/references.md, the released prototype)."""

GIB = 2**30


WHAT_IFS = {
    VCPU_MODEL: lambda v: v == "static",
    "cfg.setup.services.enc.switchless": lambda v: v is True or v == 1,
    "cfg.setup.services.enc.page_tables": lambda v: v == "private",
    "cfg.setup.services.log.records_per_call": lambda v: isinstance(v, (int, float)) and v > 1,
    # unset (None; NaN in a table): the program's own footprint, as built; a set size is a sensitivity setting
    "cfg.setup.services.enc.enclave_size": lambda v: v is not None and v == v,
    "cfg.setup.services.log.record_model": lambda v: v != _LOG_DEFAULTS.record_model,
}
"""Design alternatives the paper did not measure (static partitioning, switchless ocalls, private
enclave page tables, batched audit records) and sensitivity settings away from their sourced defaults (an enclave size set by
hand instead of the program's own footprint, the audit record model): kept out of the claims, shown in the figures."""


@dataclass
class Claim:
    """One claim with the simulated value beside it and the evidence behind the verdict."""

    claim: str
    paper: str
    simulated: str
    verdict: str
    conditions: str
    details: list[str] = field(default_factory=list)
    points: pd.DataFrame | None = None  # the overhead rows the verdict rests on (service claims)
    assumption_space: str = ""  # the verdict over the sensitivity study's samples, when one is stored


def as_designed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows describing Veil as built (no what-if design alternative in effect)."""
    mask = pd.Series(True, index=frame.index)
    for column, is_what_if in WHAT_IFS.items():
        if column in frame:
            mask &= ~frame[column].map(is_what_if).astype(bool)
    return frame[mask]


def _without_design_studies(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop experiments that compare VCPU models (replicas vs static partitioning: design studies
    at capped lengths, whose replica arms repeat the service experiments) or platforms (whose
    arms repeat them on other hardware than the paper's)."""
    compared = [c for c in (VCPU_MODEL, PLATFORM) if c in frame]
    studies = [name for name, group in frame.groupby("experiment") if (group[compared].nunique() > 1).any()]
    return frame[~frame["experiment"].isin(studies)]


def _guest(row: pd.Series) -> str:
    return f"{row[VCPUS]:g} VCPU / {row[MEMORY] / GIB:g} GiB"


def _assumption_columns(frame: pd.DataFrame, calibration: dict[str, float]) -> list[str]:
    return [c for c in sorted(calibration) if c in frame and frame[c].nunique() > 1]


def _assumption_text(row: pd.Series, columns: list[str]) -> str:
    return describe_point({c: row[c] for c in columns}) or "calibrated"


def pct_text(value: float) -> str:
    """``2,038%``, ``26.3%``, ``0.806%``: three significant digits, no exponent."""
    return f"{value:,.0f}%" if abs(value) >= 100 else f"{value:.3g}%"


def interval_text(row: pd.Series, low: str = "ci_low", high: str = "ci_high", scale: float = 1.0,
                  digits: int = 2, unit: str = "") -> str:
    """A 95% interval ``[1.20, 1.31]``, or why there is none: ``exact`` (replications agree: the
    point is deterministic), ``n = 1`` (one replication)."""
    if int(row.get("n", 0)) < 2:
        return "n = 1"
    a, b = row[low] / scale, row[high] / scale
    if pd.isna(a) or pd.isna(b):
        return ""
    if np.isclose(a, b, rtol=1e-12, atol=0.5 * 10 ** -digits):
        return "exact"
    return f"[{a:.{digits}f}, {b:.{digits}f}]{unit}"


EXACT_NOTE = ("An interval shown as *exact* comes from replications that agree to the digits shown: the point "
              "is deterministic (its workload draws no random times that matter), so no interval is given.")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def boot_claim(over: pd.DataFrame, calibration: dict[str, float]) -> Claim:
    """Veil's boot increment per guest shape and per assumption about unmeasured per-page costs."""
    claim = Claim("Veil grows CVM boot time by less than 2 s", f"< {BOOT_CLAIM_S:g} s", "", "no data", "")
    frame = over[over["kind"] == "boot"]
    if frame.empty or MEMORY not in frame or VCPUS not in frame:
        claim.simulated = "no boot results (with cfg.boot.memory and cfg.setup.vcpus) in these results"
        return claim
    frame = frame.assign(acceptance=frame[ACCEPTANCE] if ACCEPTANCE in frame else "default")
    assumptions = _assumption_columns(frame, calibration)
    default = frame[(frame[VCPUS] == DEFAULT_GUEST[0]) & (frame[MEMORY] == DEFAULT_GUEST[1])]
    guest, guest_shape = "default guest", "1 VCPU / 1 GiB"
    if default.empty:
        smallest = frame.sort_values([MEMORY, VCPUS]).iloc[0]
        default = frame[(frame[VCPUS] == smallest[VCPUS]) & (frame[MEMORY] == smallest[MEMORY])]
        guest, guest_shape = "smallest simulated guest", f"{_guest(smallest)}; the 1 VCPU / 1 GiB default is absent"

    rows, holds_default = [], []
    for _, group in frame.groupby(["acceptance", *assumptions], sort=True):
        first = group.iloc[0]
        at_default = group[group.index.isin(default.index)]
        inc = at_default["increment_ns"].iloc[0] / 1e9 if len(at_default) else np.nan
        holds_default.append(bool(inc < BOOT_CLAIM_S))
        under = group[group["increment_ns"] < BOOT_CLAIM_S * 1e9].sort_values([MEMORY, VCPUS])
        worst = group.sort_values("increment_ns").iloc[-1]
        rows.append([
            str(first["acceptance"]), _assumption_text(first, assumptions), f"{inc:.3f} s",
            "yes" if inc < BOOT_CLAIM_S else "no",
            _guest(under.iloc[-1]) if len(under) else "none",
            f"{worst['increment_ns'] / 1e9:.3f} s ({_guest(worst)})",
        ])
    claim.details += _table(
        ["acceptance", "assumption", f"increment, {guest}", "< 2 s",
         "largest guest < 2 s", "largest increment (guest)"], rows)

    calibrated = at_calibration(default, calibration)
    intervals = [interval_text(r, "increment_ci_low", "increment_ci_high", 1e9, 3)
                 for _, r in calibrated.sort_values("acceptance").iterrows()]
    exact = all(not i.startswith("[") for i in intervals)  # a boot is computed in closed form: deterministic
    per_acceptance = ", ".join(
        f"{r['acceptance']} +{r['increment_ns'] / 1e9:.3f} s" + ("" if exact else f" {interval}")
        for (_, r), interval in zip(calibrated.sort_values("acceptance").iterrows(), intervals)
    ) + (" (exact: boots are deterministic)" if exact and intervals else "")
    spread = default["increment_ns"] / 1e9
    largest = largest_under_claim(frame, calibration)
    claim.simulated = (f"{guest} ({guest_shape}), calibrated: {per_acceptance}; over the assumption range "
                       f"{spread.min():.3f}–{spread.max():.3f} s; largest guest under {BOOT_CLAIM_S:g} s at "
                       f"calibration: {largest_text(largest)}")
    calibrated_holds = bool((calibrated["increment_ns"] < BOOT_CLAIM_S * 1e9).all()) and len(calibrated) > 0
    beyond = (f"; larger guests pay more: at calibration {largest_text(largest)} stay under {BOOT_CLAIM_S:g} s "
              "(eager acceptance validates every page through VeilMon at boot; lazy validates at first touch, after "
              "boot)")
    if all(holds_default):
        claim.verdict = "holds"
        claim.conditions = f"for the {guest} under every assumption setting simulated ({len(rows)})" + beyond
    elif calibrated_holds:
        claim.verdict = "holds at calibration only"
        claim.conditions = (f"for the {guest} at calibrated values, but not under "
                            f"{holds_default.count(False)} of {len(rows)} assumption settings (table below)" + beyond)
    else:
        claim.verdict = "does not hold"
        claim.conditions = "the simulated increment for the default guest exceeds 2 s at calibrated values"
    by_memory = at_calibration(frame[frame[VCPUS] == frame[VCPUS].min()], calibration)
    if len(by_memory):
        pivot = by_memory.pivot_table(index=MEMORY, columns="acceptance", values="increment_ns", aggfunc="mean")
        claim.details += ["", f"Increment at calibration by memory ({frame[VCPUS].min():g} VCPU):", ""]
        claim.details += _table(
            ["memory", *[str(c) for c in pivot.columns]],
            [[f"{m / GIB:g} GiB", *[f"{v / 1e9:.3f} s" for v in pivot.loc[m]]] for m in pivot.index])
    return claim


def largest_under_claim(frame: pd.DataFrame, calibration: dict[str, float]) -> dict[str, tuple[float, float] | None]:
    """Per acceptance policy of the boot points ``frame`` (an ``acceptance`` column), at
    calibration: the largest guest memory whose increment stays under 2 s at every VCPU count
    simulated, with the largest of those counts (None when even the smallest memory does not)."""
    calibrated = at_calibration(frame, calibration)
    out: dict[str, tuple[float, float] | None] = {}
    for acceptance, group in calibrated.groupby("acceptance", sort=True):
        worst = group.groupby(MEMORY)["increment_ns"].max().sort_index()
        under = worst[worst < BOOT_CLAIM_S * 1e9]
        out[str(acceptance)] = (float(under.index.max()), float(group[VCPUS].max())) if len(under) else None
    return out


def largest_text(largest: dict[str, tuple[float, float] | None]) -> str:
    """``eager 2 GiB, lazy 128 GiB (at 1-64 VCPUs)``."""
    parts = [f"{a} {'no guest' if g is None else f'{g[0] / GIB:g} GiB'}" for a, g in largest.items()]
    counts = {g[1] for g in largest.values() if g is not None}
    return ", ".join(parts) + (f" (at up to {max(counts):g} VCPUs)" if counts else "")


def service_candidates(over: pd.DataFrame) -> pd.DataFrame:
    """Protected-service points of Veil as built, at any swept platform value. Open-loop servers
    (latency basis) are load studies: their latency ratio depends on the offered load, so they are
    shown in the latency figure, not counted against 2-64%."""
    workload = over[(over["kind"] == "workload") & (over["service"] != "none") & (over["basis"] != "latency")]
    return as_designed(_without_design_studies(workload))


def service_points(over: pd.DataFrame, calibration: dict[str, float]) -> pd.DataFrame:
    """The points the service claim rests on: Veil as built, at calibrated costs."""
    return at_calibration(service_candidates(over), calibration)


def oneoff_flagged(frame: pd.DataFrame) -> pd.Series:
    """Points whose one-off set-up is more than a quarter of Veil's added time."""
    share = frame["oneoff_share"] if "oneoff_share" in frame else pd.Series(np.nan, index=frame.index)
    return share.astype(float) > ONEOFF_FLAG_SHARE


def oneoff_text(row: pd.Series) -> str:
    """``12%`` one-off share, ``37% (!)`` when flagged, ``unknown`` without ``oneoff_ns``."""
    share = row.get("oneoff_share")
    if share is None or pd.isna(share):
        return "unknown"
    return f"{share * 100:.0f}%" + (" (!)" if share > ONEOFF_FLAG_SHARE else "")


def steady_text(row: pd.Series) -> str:
    """Steady-state overhead, or ``unknown`` when the results have no ``oneoff_ns``."""
    value = row.get("steady_pct")
    return "unknown" if value is None or pd.isna(value) else f"{value:.2f}"


def service_claim(over: pd.DataFrame, calibration: dict[str, float]) -> Claim:
    """Range of protected-service overheads per service, and which points fall inside 2-64%."""
    low, high = SERVICE_CLAIM_PCT
    claim = Claim("Protected services cost 2–64% on real workloads", f"{low:g}–{high:g}%", "", "no data", "")
    services = service_candidates(over)
    frame = at_calibration(services, calibration)
    if frame.empty:
        claim.simulated = "no protected-service results in these results"
        return claim
    inside = frame["overhead_pct"].between(low, high)
    parts = []
    for service, group in frame.groupby("service", sort=True):
        within = group["overhead_pct"].between(low, high)
        parts.append(f"{service}: {group['overhead_pct'].min():.1f}–{group['overhead_pct'].max():.1f}% "
                     f"({int(within.sum())}/{len(group)} inside)")
    claim.simulated = "; ".join(parts)
    claim.points = frame
    claim.verdict = "holds" if inside.all() else ("partly" if inside.any() else "does not hold")
    below, above = int((frame["overhead_pct"] < low).sum()), int((frame["overhead_pct"] > high).sum())
    claim.conditions = (f"Veil as designed (no static partitioning, switchless, private page-table or batching what-if; sourced enclave size and audit record model; design studies and open-loop load studies left out), "
                        f"at calibrated costs: {int(inside.sum())} of {len(frame)} points inside, {below} below, "
                        f"{above} above; over the whole sensitivity sweep {services['overhead_pct'].min():.1f}–"
                        f"{services['overhead_pct'].max():.1f}%")
    flagged = oneoff_flagged(frame)
    if flagged.any():
        claim.conditions += (f"; {int(flagged.sum())} point(s) marked (!) spend more than "
                             f"{ONEOFF_FLAG_SHARE:.0%} of Veil's added time on one-off set-up, so their whole-run "
                             "overhead depends on how long the run is")
    estimated = frame["native_estimated"].astype(bool) if "native_estimated" in frame else flagged & False
    if estimated.any():
        claim.conditions += (f"; {', '.join(sorted(set(frame.loc[estimated, 'workload'])))}: native time estimated "
                             "from the trace alone; record it for precision")
    rows = [
        [r["workload"] + (" (est.)" if bool(r.get("native_estimated", False)) else ""), r["service"],
         str(r.get("service_label", r["setting"])), r["experiment"], r["basis"], f"{r['overhead_pct']:.2f}",
         interval_text(r), steady_text(r), oneoff_text(r), str(int(r["n"])),
         "inside" if low <= r["overhead_pct"] <= high else ("below" if r["overhead_pct"] < low else "above")]
        for _, r in frame.sort_values(["service", "workload", "experiment", "pair_key"]).iterrows()
    ]
    header = ["workload", "service", "what ran", "experiment", "measured by", "whole-run %", "95% CI",
              "steady-state %", "one-off share", "n", "vs 2–64%"]
    claim.details += _table(header, rows)
    return claim


def lazy_first_touch_note(runs: pd.DataFrame | None, calibration: dict[str, float]) -> str:
    """What lazy memory acceptance adds to normal execution under Veil (memory first touched after
    boot is validated through VeilMon), from the boot experiment's default guest at calibration;
    empty when the results hold no lazy boots."""
    if runs is None or FIRST_TOUCH not in runs or ACCEPTANCE not in runs:
        return ""
    boots = runs[(runs["workload"] == "boot") & (runs[ACCEPTANCE] == "lazy") & (runs[VCPUS] == DEFAULT_GUEST[0])
                 & (runs[MEMORY] == DEFAULT_GUEST[1])]
    per_mode = at_calibration(boots, calibration).groupby("mode")[FIRST_TOUCH].mean()
    if not {"cvm", "veil"} <= set(per_mode.index):
        return ""
    cvm, veil = per_mode["cvm"] / 1e9, per_mode["veil"] / 1e9
    return (f"these runs assume accepted memory; with lazy acceptance, memory first touched after boot "
            f"is validated through VeilMon: the default guest's remaining memory costs {veil:.2f} s of guest "
            f"CPU under Veil vs {cvm:.2f} s in the CVM (+{(veil - cvm) / cvm * 100:.0f}%), paid while it "
            "first runs (boot experiment, boot.first_touch_ns)")


def normal_claim(over: pd.DataFrame, calibration: dict[str, float], runs: pd.DataFrame | None = None) -> Claim:
    """Largest |overhead| of Veil with no service in use against the plain SNP CVM; with the boot
    experiment's ``runs``, the caveat of lazy memory acceptance."""
    claim = Claim("No discernible slowdown in normal execution", "≈ 0%", "", "no data", "")
    frame = as_designed(over[(over["kind"] == "workload") & (over["service"] == "none") & (over["mode"] == "veil")])
    frame = at_calibration(frame, calibration)
    if frame.empty:
        claim.simulated = "no normal-execution results (mode veil, service none) in these results"
        return claim
    worst = frame.loc[frame["overhead_pct"].abs().idxmax()]
    interval = interval_text(worst, digits=3)
    claim.simulated = (f"max |overhead| {abs(worst['overhead_pct']):.3f}% ({worst['workload']}"
                       + (f", 95% CI {interval}" if interval.startswith("[") else f", {interval}")
                       + f") over {len(frame)} points")
    claim.points = frame
    holds = bool((frame["overhead_pct"].abs() <= NORMAL_TOLERANCE_PCT).all())
    exact = bool((frame["overhead_pct"].abs() < 1e-9).all())
    claim.verdict = ("holds by construction" if exact else "holds") if holds else "does not hold"
    claim.conditions = ("Veil adds no operation to the hot path of a CVM that uses no service (docs/references.md), "
                        "so the model adds none: " + ("the exact 0% checks the model, not a measurement; "
                                                      if exact else "")
                        + f"'discernible' read as |overhead| > {NORMAL_TOLERANCE_PCT:g}% (project tolerance, not a "
                        "paper number)")
    note = lazy_first_touch_note(runs, calibration)
    if note:
        claim.conditions += "; " + note
    rows = [[r["workload"], r["experiment"], f"{r['overhead_pct']:.3f}", interval_text(r, digits=3), str(int(r["n"]))]
            for _, r in frame.sort_values(["workload", "experiment", "pair_key"]).iterrows()]
    claim.details += _table(["workload", "experiment", "overhead %", "95% CI", "n"], rows)
    return claim


def assumption_space_line(summaries: pd.DataFrame | None, metric: str) -> str:
    """One line on a claim over the sensitivity study's samples of ``metric`` (rows of
    ``veilperf.sensitivity.load_summaries``): the share of samples where it holds and the most
    influential parameters; empty without rows."""
    if summaries is None or summaries.empty:
        return ""
    rows = summaries[summaries["metric"] == metric]
    samples = rows["n_samples"].astype(float)
    if rows.empty or samples.sum() <= 0:
        return ""
    share = float((rows["share_in_band"].astype(float) * samples).sum() / samples.sum())
    score: dict[str, float] = {}
    for text in rows["top_params"].fillna(""):
        for rank, name in enumerate(n.strip() for n in str(text).split(",") if n.strip()):
            score[name] = score.get(name, 0.0) + 1.0 / (rank + 1)
    drivers = sorted(score, key=lambda n: (-score[n], n))[:2]
    methods = ", ".join(sorted(set(rows["method"].astype(str))))
    line = (f"over the assumption space ({methods}, {int(samples.sum())} samples over {len(rows)} point(s)): "
            f"holds in {share:.0%} of samples")
    return line + (f"; driven by {', '.join(drivers)}" if drivers else "")


def check_claims(over: pd.DataFrame, calibration: dict[str, float], runs: pd.DataFrame | None = None,
                 sensitivity: pd.DataFrame | None = None) -> list[Claim]:
    """The three headline claims in the paper's order (``runs`` adds the lazy-acceptance caveat;
    ``sensitivity``, the sensitivity study's summaries, the verdict over the assumption space)."""
    claims = [boot_claim(over, calibration), service_claim(over, calibration), normal_claim(over, calibration, runs)]
    counted = {"boot_increment_s": set(over.loc[over["kind"] == "boot", "experiment"]),
               "overhead_pct": set(service_candidates(over)["experiment"])}
    for claim, metric in ((claims[0], "boot_increment_s"), (claims[1], "overhead_pct")):
        # only studies of experiments the claim counts (not of a design study or another platform's experiment)
        studies = None if sensitivity is None else sensitivity[sensitivity["experiment"].isin(counted[metric])]
        claim.assumption_space = assumption_space_line(studies, metric)
    return claims
