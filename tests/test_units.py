"""veilperf.units: every unit against its definition, cycles with a clock, and the errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veilperf.units import UnitError, format_duration, parse_bandwidth, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(("text", "ns"), [
    ("250ns", 250.0),
    ("2.5us", 2_500.0),
    ("2.5µs", 2_500.0),   # micro sign U+00B5
    ("2.5μs", 2_500.0),   # Greek mu U+03BC
    ("3ms", 3e6),
    ("1.5s", 1.5e9),
    ("0s", 0.0),
    (".5us", 500.0),
    ("1e3ns", 1_000.0),
    (" 7 us ", 7_000.0),
])
def test_duration_units(text, ns):
    assert parse_duration(text) == pytest.approx(ns)


@pytest.mark.parametrize(("text", "clock_hz", "ns"), [
    ("2800cycles", 2.8e9, 1_000.0),         # 2800 / 2.8e9 s
    ("788cycles", 2.8e9, 788 / 2.8),        # getpid in an SNP guest, docs/references.md
    ("1cycle", 1e9, 1.0),
    ("33000cycles", 3.3e9, 10_000.0),
])
def test_cycles_use_the_clock(text, clock_hz, ns):
    assert parse_duration(text, clock_hz=clock_hz) == pytest.approx(ns)


def test_cycles_scale_inversely_with_clock():
    slow = parse_duration("1000cycles", clock_hz=1e9)
    fast = parse_duration("1000cycles", clock_hz=2e9)
    assert slow == pytest.approx(2 * fast)


@pytest.mark.parametrize(("text", "size"), [
    ("64B", 64), ("4KiB", 4096), ("1MiB", 1024**2), ("4GiB", 4 * 1024**3), ("1TiB", 1024**4),
    ("1KB", 1000), ("1kB", 1000), ("2MB", 2e6), ("3GB", 3e9), ("1TB", 1e12), ("4088B", 4088),
])
def test_size_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "bytes_per_s"), [
    ("18GB/s", 18e9), ("512MiB/s", 512 * 1024**2), ("1691MB/s", 1.691e9), ("100KB/s", 1e5),
    ("1GiB/s", 1024**3), ("10B/s", 10),
])
def test_bandwidth_units(text, bytes_per_s):
    assert parse_bandwidth(text) == pytest.approx(bytes_per_s)


@pytest.mark.parametrize(("text", "hz"), [
    ("100/s", 100), ("2.8GHz", 2.8e9), ("250Hz", 250), ("5kHz", 5e3), ("3MHz", 3e6),
    ("2/ms", 2e3), ("1/us", 1e6), ("1/µs", 1e6), ("0/s", 0),
])
def test_rate_units(text, hz):
    assert parse_rate(text) == pytest.approx(hz)


@pytest.mark.parametrize(("parse", "value", "fragment"), [
    (parse_duration, 12, "bare number 12"),
    (parse_duration, 1.5, "bare number 1.5"),
    (parse_duration, "12", "bare number '12'"),
    (parse_duration, "12 parsecs", "unknown time unit 'parsecs'"),
    (parse_duration, "5US", "unknown time unit 'US'"),
    (parse_duration, "-5us", "negative duration"),
    (parse_duration, "100cycles", "no platform clock"),
    (parse_duration, True, "expected a duration with a unit"),
    (parse_duration, None, "expected a duration with a unit"),
    (parse_duration, "us", "cannot read"),
    (parse_size, 4096, "bare number"),
    (parse_size, "4Kib", "unknown size unit"),
    (parse_size, "-1B", "negative size"),
    (parse_bandwidth, "18GB", "unknown bandwidth unit"),
    (parse_bandwidth, "18GB/h", "unknown bandwidth unit"),
    (parse_bandwidth, "0GB/s", "must be positive"),
    (parse_rate, 100, "bare number"),
    (parse_rate, "100/h", "unknown rate unit"),
    (parse_rate, "-1Hz", "negative rate"),
])
def test_unit_errors(parse, value, fragment):
    with pytest.raises(UnitError) as caught:
        parse(value)
    assert fragment in str(caught.value)


def test_unit_error_is_a_value_error():
    # pydantic turns ValueError raised in a validator into a validation error with the message.
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(("ns", "text"), [
    (250.0, "250 ns"), (2_500.0, "2.5 us"), (3e6, "3 ms"), (1.5e9, "1.5 s"), (0.0, "0 ns"),
])
def test_format_duration(ns, text):
    assert format_duration(ns) == text


def test_format_duration_round_trips_through_parse():
    for ns in (12.0, 4_140.0, 2.5e6, 7e9):
        assert math.isclose(parse_duration(format_duration(ns).replace(" ", "")), ns, rel_tol=1e-2)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(value=st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
       unit=st.sampled_from([("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)]))
def test_duration_is_number_times_unit_scale(value, unit):
    name, scale = unit
    assert parse_duration(f"{value!r}{name}") == pytest.approx(value * scale)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(cycles=st.integers(min_value=0, max_value=10**9),
       clock_ghz=st.floats(min_value=0.5, max_value=5.0, allow_nan=False))
def test_cycles_are_cycles_over_clock(cycles, clock_ghz):
    assert parse_duration(f"{cycles}cycles", clock_hz=clock_ghz * 1e9) == pytest.approx(cycles / clock_ghz)


@pytest.mark.parametrize("nbytes,text", [(16 * 1024**2, "16MiB"), (40 * 1024, "40KiB"), (4088, "4088B"),
                                         (3 * 1024**3, "3GiB"), (1536, "1536B")])
def test_format_size_round_trips_through_parse_size(nbytes, text):
    from veilperf.units import format_size, parse_size

    assert format_size(nbytes) == text
    assert parse_size(text) == nbytes
