"""How close a blind import's native-time estimate comes to the measured untraced time, on real
programs recorded here and now: ``python benchmarks/blind_accuracy.py [--repeat N]``.

A validation run, reported rather than tested: it compares a trace of one run with the wall time of
other runs, which the machine's load moves (on a loaded 2-core machine the check "within 50%" once
came out 0.56 and passed alone), so it cannot be a deterministic test. For each program of
``tests/record_support.py``: record it (5 runs, the first a warm-up, then one traced run), import
the trace blind, and print the untraced median and the runs' range, the blind point and range, the
ratio, whether it is within 50%, whether the range holds the median, the untraced runs' CPU share
(below 70% the machine was busy: the runs mostly waited, which no trace of another run can know),
and the recorded workload's simulated CVM time against its median. Needs strace and the test
extra (pytest is not used, but the programs live with the tests).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from record_support import (MULTI, SINGLE, cvm_time, import_blind, make_inputs, native,  # noqa: E402
                            programs, record_quietly)

from veilperf.units import parse_duration  # noqa: E402

WITHIN = 0.50
BUSY_SHARE = 0.7


def measure(name: str, command: list[str], folder: Path) -> dict:
    """Record ``command``, import its trace blind; the figures of one row."""
    workload = folder / f"{name}.yaml"
    record_quietly(command, name, workload)
    measured = native(workload)
    row = {k: parse_duration(measured[k]) for k in ("wall", "low", "high", "user", "sys")}
    row["recorded_cvm"] = cvm_time(workload)
    if name in SINGLE:
        blind = folder / f"{name}-blind.yaml"
        import_blind(folder / "traces" / f"{name}.strace.gz", name, blind)
        estimate = native(blind)
        row.update(blind=parse_duration(estimate["wall"]), blind_low=parse_duration(estimate["low"]),
                   blind_high=parse_duration(estimate["high"]), blind_cvm=cvm_time(blind))
    return row


def report(name: str, row: dict) -> tuple[bool, bool] | None:
    """Print one row; (within 50%, range holds) for a blind import on a machine that was not busy."""
    ms = lambda ns: f"{ns / 1e6:8.1f}"  # noqa: E731
    share = (row["user"] + row["sys"]) / row["wall"]
    line = (f"{name:10} untraced {ms(row['wall'])} ms [{ms(row['low'])}, {ms(row['high'])}]  cpu {share:4.0%}  "
            f"recorded cvm x{row['recorded_cvm'] / row['wall']:.2f}")
    verdict = None
    if "blind" in row:
        ratio = row["blind_cvm"] / row["wall"]
        holds = row["blind_low"] <= row["wall"] <= row["blind_high"]
        within = abs(ratio - 1) <= WITHIN
        line += (f"  blind {ms(row['blind'])} ms [{ms(row['blind_low'])}, {ms(row['blind_high'])}]  "
                 f"x{ratio:.2f} {'within' if within else 'OUTSIDE'} 50%, range {'holds' if holds else 'MISSES'}")
        if share < BUSY_SHARE:
            line += "  (busy machine: not counted)"
        else:
            verdict = (within, holds)
    print(line, flush=True)
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="record every program N times")
    args = parser.parse_args(argv)
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="veilperf-blind-") as tmp:
        inputs = make_inputs(Path(tmp))
        for i in range(args.repeat):
            folder = Path(tmp) / f"round{i}"
            folder.mkdir()
            for name, command in programs(inputs).items():
                verdict = report(name, measure(name, command, folder))
                if verdict is not None:
                    verdicts.append(verdict)
    counted = len(verdicts)
    print(f"blind estimates counted (machine not busy): {counted}; within 50%: "
          f"{sum(w for w, _ in verdicts)} of {counted}; range holds the untraced median: "
          f"{sum(h for _, h in verdicts)} of {counted}; multi-threaded programs: {', '.join(MULTI)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
