"""The private page-table what-if in the report: which programs it changes most, and why.

Veil as built lets an enclave use its process's page tables; with private ones (``setup.services.enc.
page_tables: private``, a design alternative kept out of the paper's claims) each memory-management
call adds a VeilS-Enc call and each first touch of a page mmap or brk added a fault round trip
through the service. Each private point is set beside the shared point of the same experiment,
workload, platform and other swept values; the counts and costs come from the records (``enc.*``,
``costs.enc.*``), the rates are per second of the baseline's (native) run time.
"""

from __future__ import annotations

import pandas as pd

from veilperf.analysis.tables.columns import PAGE_TABLES, PLATFORM, TOUCHED
from veilperf.analysis.tables.profile import at_calibration
from veilperf.services.enc import DEFAULTS
from veilperf.units import format_duration

_IDENTITY = ("experiment", "workload", "service", PLATFORM)


def _pairs(over: pd.DataFrame) -> pd.DataFrame:
    """Private points with the overhead of their shared twin (``shared_pct``)."""
    axes = [c for c in over.attrs.get("axes", []) if c in over and c not in (PAGE_TABLES, TOUCHED)]
    key = [c for c in dict.fromkeys((*_IDENTITY, *axes)) if c in over]  # the platform may be a swept axis too
    private, shared = over[over[PAGE_TABLES] == "private"], over[over[PAGE_TABLES] == "shared"]
    twins = shared.drop_duplicates(key)[[*key, "overhead_pct"]].rename(columns={"overhead_pct": "shared_pct"})
    return private.merge(twins, on=key, how="inner")


def _rates(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair: the rise in points, mm calls and faults per second of native run time, pages per
    mm call, and the VeilS-Enc time they cost per native second (count x cost, %)."""
    native_s = pairs["baseline_cost_ns"] * pairs["completed"] / 1e9
    spent = pairs["enc.mm_calls"] * pairs["costs.enc.mm_call_ns"] + pairs["enc.pt_faults"] * pairs["costs.enc.pt_fault_ns"]
    return pairs.assign(rise=pairs["overhead_pct"] - pairs["shared_pct"],
                        mm_per_s=pairs["enc.mm_ocalls"] / native_s,
                        pages_per_call=pairs["enc.mm_pages"] / pairs["enc.mm_ocalls"].where(pairs["enc.mm_ocalls"] > 0),
                        faults_per_s=pairs["enc.pt_faults"] / native_s,
                        count_cost_pct=spent / 1e9 / native_s * 100)


def _others(rows: pd.DataFrame, chosen: float) -> str:
    """``0.05: 12.9%, 1: 95.9%``: the private overhead at the other touched shares."""
    other = rows[rows[TOUCHED] != chosen].sort_values(TOUCHED)
    return ", ".join(f"{t:g}: {p:.1f}%" for t, p in zip(other[TOUCHED], other["overhead_pct"])) or "–"


def _most(main: pd.DataFrame, shown: int = 3) -> str:
    """``http-static (+43.4 points: 2,628 mm calls/s of 669 pages, 34,699 faults/s), then ...``."""
    parts = [f"**{r['workload']}** ({r['shared_pct']:.1f}% → {r['overhead_pct']:.1f}%, {r['rise']:+.1f} points: "
             f"{r['mm_per_s']:,.0f} memory-management calls per native second of {r['pages_per_call']:,.0f} pages "
             f"each, {r['faults_per_s']:,.0f} faults/s)" for _, r in main.head(shown).iterrows()]
    return parts[0] + (", then " + " and ".join(parts[1:]) if len(parts) > 1 else "")


def page_table_lines(over: pd.DataFrame, calibration: dict | None = None) -> list[str]:
    """The report's paragraph on the private page-table what-if (markdown lines; none when the
    overhead table ``over`` holds no private point with a shared twin), read at the calibrated
    platform values ``calibration`` when given."""
    needed = (PAGE_TABLES, TOUCHED, "enc.mm_calls", "enc.pt_faults", "costs.enc.mm_call_ns", "costs.enc.pt_fault_ns")
    if any(c not in over for c in needed):
        return []
    frame = at_calibration(over, calibration) if calibration else over
    pairs = _pairs(frame)
    if pairs.empty:
        return []
    pairs = _rates(pairs)
    chosen = DEFAULTS.touched_share if (pairs[TOUCHED] == DEFAULTS.touched_share).any() else float(pairs[TOUCHED].median())
    key = [c for c in _IDENTITY if c in pairs]
    main = pairs[pairs[TOUCHED] == chosen].sort_values("rise", ascending=False)
    mm_cost, fault_cost = main["costs.enc.mm_call_ns"].median(), main["costs.enc.pt_fault_ns"].median()
    lines = [
        "## Private enclave page tables (what-if)",
        "",
        "Veil as built lets an enclave run on its process's page tables, which the untrusted kernel writes (the "
        "prototype's TODO). With private ones that only VeilS-Enc writes (a design what-if, not counted in the "
        "claims), every memory-management call (mmap, munmap, mprotect, brk, mremap, madvise) adds a VeilS-Enc "
        f"call from the kernel ({format_duration(mm_cost)} at the median pages changed: two switches, the "
        "monitor's map/unmap and dispatch, a global TLB flush, per page changed two RMPADJUSTs and an entry "
        f"write), and every first touch of a page mmap or brk added is a fault round trip ({format_duration(fault_cost)}: "
        "exit, such a call mapping the page, re-entry). How many pages: the share a program touches of the "
        f"pages a call names, {chosen:g} here (an assumption, range 0.05–1). A program's rise is about its "
        "calls/s x the cost of one plus its faults/s x the cost of one (count x cost, per second of native run "
        "time; threads running side by side share that second, so a program whose threads overlap rises by "
        f"less). It changes {_most(main)} most.",
        "",
        "| workload | shared | private | rise (points) | mm calls/s | pages/call | faults/s | count x cost | "
        "private at other touched shares |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in main.iterrows():
        rows = pairs[(pairs[key] == row[key]).all(axis=1)]
        lines.append(f"| {row['workload']} | {row['shared_pct']:.1f}% | {row['overhead_pct']:.1f}% | "
                     f"{row['rise']:+.1f} | {row['mm_per_s']:,.0f} | {row['pages_per_call']:,.0f} | "
                     f"{row['faults_per_s']:,.0f} | {row['count_cost_pct']:.1f}% | {_others(rows, chosen)} |")
    return lines + [""]
