"""The report's "On other hardware" section: for each experiment run on several platform profiles,
what moves between them at the profiles' own values (per workload x service), which of the
parameters that differ do so, and, from a stored sensitivity study of the other platform, which
unmeasured cost decides its predictions and how far they spread over its range."""

from __future__ import annotations

import pandas as pd

from veilperf.analysis.claims.verdicts import interval_text, pct_text
from veilperf.analysis.tables.columns import PLATFORM
from veilperf.analysis.tables.figdata import FigureData
from veilperf.analysis.tables.profile import (at_calibration, find_profiles, format_value, param_name,
                                              profile_params, profile_ranges, profile_values)
from veilperf.analysis.tables.studies import StoredStudy
from veilperf.model.charges import SWITCH_MODELS

TOP_SHOWN = 3
"""Parameters named as the study's deciding ones."""


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)]


def compared_experiments(data: FigureData) -> list[str]:
    """Experiments whose workload points ran on more than one platform profile."""
    if PLATFORM not in data.over.columns:
        return []
    counts = data.over[data.over["kind"] == "workload"].groupby("experiment")[PLATFORM].nunique()
    return sorted(counts.index[counts > 1])


def _overlap(a: pd.Series, b: pd.Series) -> bool:
    """Whether two points' 95% intervals overlap (a point without one has none to overlap)."""
    if min(a["n"], b["n"]) < 2:
        return False
    return bool(a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"])


def _nominal_rows(data: FigureData, frame: pd.DataFrame, platforms: list[str]) -> tuple[list[list[str]], list[str]]:
    """Per workload x setting, each platform's overhead and the difference; and the differences that
    lie outside both points' intervals."""
    frame = frame.assign(shown=data.labels(frame, without=[PLATFORM]))
    rows, moved = [], []
    first, other = platforms[0], platforms[1:]
    for (workload, shown), group in frame.groupby(["workload", "shown"], sort=True):
        by = {str(r[PLATFORM]): r for _, r in group.iterrows()}
        if first not in by:
            continue
        cells = [workload, shown]
        for name in platforms:
            r = by.get(name)
            cells.append("" if r is None else f"{r['overhead_pct']:.2f} {interval_text(r)}")
        for name in other:
            if name not in by:
                cells.append("")
                continue
            delta = by[name]["overhead_pct"] - by[first]["overhead_pct"]
            inside = _overlap(by[name], by[first])
            cells.append(f"{delta:+.2f}" + ("" if inside else " (outside the 95% CIs)"))
            if not inside:
                moved.append(f"{workload} {shown} {delta:+.1f} points on {name}")
        rows.append(cells)
    return rows, moved


def _profile_differences(data: FigureData, experiment: str, platforms: list[str]) -> list[str]:
    """``clock: 2.8 GHz on milan, 2.7 GHz on genoa``: the parameters whose nominal values differ."""
    manifests = {experiment: data.manifests[experiment]} if experiment in data.manifests else {}
    values = {p: profile_values(manifests, p) for p in platforms}
    columns = sorted({c for v in values.values() for c in v})
    out = []
    for column in columns:
        seen = {p: values[p].get(column) for p in platforms}
        if len({v for v in seen.values()}) > 1 and param_name(column):
            name = param_name(column)
            out.append(f"{name}: " + ", ".join(f"{format_value(name, v)} on {p}" for p, v in seen.items()
                                               if v is not None))
    return out


def _raw_profile(data: FigureData, experiment: str, platform: str) -> dict:
    return find_profiles(data.manifests.get(experiment, {})).get(platform) or {}


def _raw(data: FigureData, experiment: str, platform: str, name: str) -> dict:
    raw = profile_params(_raw_profile(data, experiment, platform)).get(name)
    return raw if isinstance(raw, dict) else {}


def _carried_note(data: FigureData, experiment: str, platforms: list[str]) -> str:
    """How many of the other platforms' costs are assumptions at the first platform's nominal value,
    the domain switch named with the first words of its source."""
    manifests = {experiment: data.manifests[experiment]} if experiment in data.manifests else {}
    first = profile_values(manifests, platforms[0])
    notes = []
    for other in platforms[1:]:
        values = profile_values(manifests, other)
        carried = sorted(param_name(c) for c, v in values.items() if param_name(c) and first.get(c) == v
                         and _kind(data, experiment, other, param_name(c)) == "assumption")
        if not carried:
            continue
        model = _raw_profile(data, experiment, other).get("switch_model", "one_way")
        switch = [n for n in SWITCH_MODELS.get(model, ()) if n in carried]
        note = (f"{len(carried)} of {other}'s {len(values)} costs are assumptions with {platforms[0]}'s nominal "
                f"value")
        if switch:
            source = " ".join(str(_raw(data, experiment, other, switch[0]).get("source", "")).split())
            note += (f", the domain switch among them (`{switch[0]}`: " + source.split(" (")[0].split(": ")[0]
                     + "): no domain switch has been measured on this part")
        notes.append(note)
    if not notes:
        return ""
    return ("; ".join(notes) + ". So at nominal values the predictions agree, and what the other platform could "
            "change lies in the ranges of those assumptions.")


def _kind(data: FigureData, experiment: str, platform: str, name: str) -> str:
    return str(_raw(data, experiment, platform, name).get("kind", ""))


def _study_lines(data: FigureData, experiment: str, study: StoredStudy) -> list[str]:
    """Which parameters decide the study's predictions (rank 1 per setting, by Morris mu* or Sobol
    ST), how they were sourced on the studied platform, and each workload x service's spread."""
    platform = study.platforms[0] if len(study.platforms) == 1 else None
    indices = study.indices
    size = "mu_star" if "mu_star" in indices and indices["mu_star"].notna().any() else "ST"
    firsts = indices[indices["rank"] == 1]
    settings = indices.groupby(["workload", "service", "setting"]).ngroups
    counts = firsts["param"].value_counts()
    manifests = {experiment: data.manifests[experiment]} if experiment in data.manifests else {}
    ranges = profile_ranges(manifests, platform) if platform else {}
    named = []
    for name, count in counts.head(TOP_SHOWN).items():
        kind = _kind(data, experiment, platform, name) if platform else ""
        span = (f", range {format_value(name, ranges[name][1])}–{format_value(name, ranges[name][2])}"
                if name in ranges and ranges[name][1] != ranges[name][2] else "")
        effect = indices.loc[indices["param"] == name, size]
        measure = "Morris mu*, points of overhead" if size == "mu_star" else "Sobol ST"
        named.append(f"`{name}` ({kind or 'kind unknown'}{' on ' + platform if platform else ''}{span}), first in "
                     f"{count} of {settings} settings ({measure}: {effect.min():.3g}–{effect.max():.3g})")
    where = f"on {platform}" if platform else "on " + ", ".join(study.platforms)
    lines = [f"Which cost decides it: the stored sensitivity study of `{experiment}` {where} "
             f"({len(indices['param'].unique())} parameters varied over their ranges) names "
             + "; ".join(named) + "."]
    spans = data.sensitivity
    if spans is not None and len(spans):
        rows = spans[(spans["experiment"] == experiment) & (spans["metric"] == "overhead_pct")]
        if len(rows):
            lines += ["", "Over that platform's assumption ranges (5th–95th percentile of the study's samples, "
                          "first setting of each workload x service):", ""]
            lines += _table(["workload", "service", "p5", "p95", "deciding parameters"],
                            [[r["workload"], r["service"], pct_text(r["p5"]), pct_text(r["p95"]),
                              str(r["top_params"]).replace(",", ", ")] for _, r in rows.iterrows()])
    if study.figure is not None:
        lines += ["", f"The study's tornado figure is embedded with the `{experiment}` experiment below."]
    return lines


def hardware_section(data: FigureData) -> list[str]:
    """The "On other hardware" section (empty when no experiment compares platforms)."""
    experiments = compared_experiments(data)
    if not experiments:
        return []
    lines = ["## On other hardware", ""]
    for experiment in experiments:
        subset = data.only(experiment)
        frame = subset.over[(subset.over["kind"] == "workload") & (subset.over["basis"] != "latency")]
        frame = at_calibration(frame, subset.calibration)
        listed = list(find_profiles(data.manifests.get(experiment, {})))
        platforms = [p for p in listed if p in set(frame[PLATFORM].astype(str))] or sorted(frame[PLATFORM].unique())
        rows, moved = _nominal_rows(subset, frame, platforms)
        differences = _profile_differences(data, experiment, platforms)
        lines += [f"Experiment `{experiment}` ran every point on {', '.join(platforms)}. At each profile's own "
                  "values (whole-run overhead vs the SNP CVM on the same platform, 95% CI):", ""]
        lines += _table(["workload", "what ran", *(f"{p}: % (95% CI)" for p in platforms),
                         *(f"{p} − {platforms[0]} (points)" for p in platforms[1:])], rows)
        lines += ["", ("What moves: " + "; ".join(moved) + ".") if moved else
                  "What moves: nothing beyond run-to-run noise: every difference lies within the two points' 95% "
                  "intervals (each platform's points ran with their own seeds).",
                  "", "The profiles' nominal values differ only in " + ("; ".join(differences) if differences else
                                                                        "nothing") + ". "
                  + _carried_note(data, experiment, platforms), ""]
        study = data.studies.get(experiment)
        if study is not None:
            lines += _study_lines(data, experiment, study)
        else:
            other = platforms[-1]
            lines += [f"No sensitivity study of `{experiment}` is stored: `veilperf sensitivity "
                      f"configs/{experiment}.yaml --set platform={other}` varies every cost of the {other} profile "
                      "over its range and names the one that decides each prediction."]
        lines.append("")
    return lines
