"""`veilperf run` says what it ran (issue 19.2): every workload, the baseline's time beside Veil's,
the overhead (also in --json), the causes, the services' settings, and warnings that name how many
records were lost, why and what avoids it, a saturated server, a large one-off share."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from veilperf import cli

ROOT = Path(__file__).resolve().parents[1]
ENCLAVE, LOGGING, SERVERS = (str(ROOT / "configs" / f"{n}.yaml") for n in ("enclave", "logging", "servers"))
THREE = f"workloads=[{', '.join(str(ROOT / 'workloads' / f'{n}.yaml') for n in ('gzip', 'sha256sum', 'redis'))}]"


def run_json(capsys, *args: str) -> dict:
    assert cli.main(["run", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_three_workloads_give_three_results(capsys):
    assert cli.main(["run", ENCLAVE, "--set", THREE]) == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines() if re.search(r"time per iteration$", line)]
    assert rows == ["gzip", "sha256sum", "redis"]
    assert [line.split(":")[0] for line in out.splitlines() if "added:" in line] == ["gzip", "sha256sum", "redis"]
    assert cli.main(["run", ENCLAVE, "--set", THREE, "--workload", "1"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()
            if line.endswith("time per iteration")] == ["sha256sum"]


def test_json_carries_the_overhead_of_each_workload_from_its_records(capsys):
    data = run_json(capsys, ENCLAVE, "--set", THREE)
    assert [r["workload"] for r in data["results"]] == ["gzip", "sha256sum", "redis"]
    for result in data["results"]:
        (treatment,), (baseline,) = result["records"], result["baselines"]
        overhead = result["overhead"]
        # fixed iterations: cost per unit of work is simulated time per completed iteration
        per_iteration = [r["sim_time_ns"] / r["completed"] for r in (treatment, baseline)]
        assert overhead["whole_run_pct"] == pytest.approx((per_iteration[0] / per_iteration[1] - 1) * 100)
        steady = (treatment["sim_time_ns"] - treatment["oneoff_ns"]) / treatment["completed"]
        assert overhead["steady_state_pct"] == pytest.approx((steady / per_iteration[1] - 1) * 100)
        assert overhead["baseline_time_ns"] == baseline["sim_time_ns"]
        assert overhead["whole_run_ci_pct"] is None and overhead["replications"] == 1
        assert baseline["mode"] == "cvm" and treatment["mode"] == "veil" and treatment["seed"] == baseline["seed"]


def test_replications_give_a_confidence_interval_around_the_mean(capsys):
    data = run_json(capsys, ENCLAVE, "--workload", "0", "--set", "replications=3")
    result = data["results"][0]
    overhead = result["overhead"]
    assert data["replications"] == 3 and len(result["records"]) == 3 and len(result["baselines"]) == 3
    low, high = overhead["whole_run_ci_pct"]
    assert low < overhead["whole_run_pct"] < high
    assert len({r["seed"] for r in result["records"]}) == 3


def test_the_heading_names_the_settings_that_differ_from_the_defaults(capsys):
    assert cli.main(["run", ENCLAVE, "--workload", "0", "--set", "setup.services.enc.switchless=true",
                     "--set", "setup.vcpus=2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("enclave: enc switchless (switchless=True)\n")


def test_a_set_on_a_swept_key_is_what_the_run_says_and_charges(capsys):
    assert cli.main(["run", ENCLAVE, "--workload", "0", "--set", "platform.params.switch_one_way=3us"]) == 0
    out = capsys.readouterr().out
    assert "\n  costs: milan profile, at switch_one_way 3 us (milan profile: 2.07 us)\n" in out
    assert "calibrated" not in out
    record = run_json(capsys, ENCLAVE, "--workload", "0", "--set", "platform.params.switch_one_way=3us")
    assert record["results"][0]["records"][0]["costs.switch.enc_unt_ns"] == 3000.0


def test_lost_audit_records_are_counted_explained_and_the_advice_avoids_them(capsys):
    """find-walk under 'log all' overflows the 40 KiB ring every 10 ms reader period; the ring size
    the warning names is then enough (checked by running it: far fewer records are lost)."""
    data = run_json(capsys, LOGGING, "--workload", "4")
    result, record = data["results"][0], data["results"][0]["records"][0]
    warning = next(w for w in result["warnings"] if "audit records lost" in w)
    assert warning.startswith(f"{record['log.lost'] / record['log.records']:.0%} of the audit records lost "
                              f"({record['log.lost']:,.0f} of {record['log.records']:,.0f}): the ring (40 KiB)")
    needed = float(re.search(r"a ring_size above ([\d.]+) KiB", warning).group(1))
    bigger = run_json(capsys, LOGGING, "--workload", "4", "--set", f"setup.services.log.ring_size={2 * needed:.0f}KiB")
    after = bigger["results"][0]["records"][0]
    assert after["log.lost"] < 0.1 * record["log.lost"]
    assert any("audit records lost" in w for w in bigger["results"][0]["warnings"]) == (after["log.lost"] > 0)


def test_a_saturated_server_gets_no_overhead(capsys):
    args = [SERVERS, "--set", "workload.loop=open", "--set", "workload.iterations_per_request=2",
            "--set", "workload.arrival_rate=30000/s", "--set", "setup.services.enc.enabled=true"]
    result = run_json(capsys, *args)["results"][0]
    assert result["overhead"]["saturated"] and result["overhead"]["whole_run_pct"] is None
    assert result["records"][0]["offered_load"] > 1
    assert any(w.startswith("saturated: the server could not keep up") for w in result["warnings"])
    assert cli.main(["run", *args]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("redis "))
    assert "saturated" in row and "%" not in row


def test_a_noisy_native_measurement_is_warned_and_flagged_and_a_steady_one_is_not(capsys):
    """find-walk's recorded runs lie within 2% of their median (no warning); its slowest run moved to
    +30% of the median (beyond the 15% noise limit) gives the warning and the record's flag."""
    steady = run_json(capsys, LOGGING, "--workload", "4")["results"][0]
    assert not steady["records"][0]["native_noisy"]
    assert not any(w.startswith("noisy native measurement") for w in steady["warnings"])
    noisy = run_json(capsys, LOGGING, "--workload", "4", "--set", "workload.provenance.native.high=35.1ms")["results"][0]
    assert noisy["records"][0]["native_noisy"]
    assert any(w.startswith("noisy native measurement: find-walk's recorded runs") for w in noisy["warnings"])
