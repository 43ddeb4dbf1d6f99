"""The side-channel timing harness runs and its statistics are right (never a timed assertion: the
measured results live in docs/side-channels.md, produced by benchmarks/timing_*.py)."""

from __future__ import annotations

import math

import pytest

from tlsstate.bench import timing


def test_quantiles_match_numpy_type_7() -> None:
    s = timing.summarize("x", list(range(1, 11)))  # numpy.percentile([1..10], [10, 25, 50, 75, 90])
    assert (s.p10, s.p25, s.median, s.p75, s.p90) == pytest.approx((1.9, 3.25, 5.5, 7.75, 9.1))
    assert s.iqr == pytest.approx(4.5) and s.mean == pytest.approx(5.5) and s.n == 10


def test_welch_t_textbook_values() -> None:
    # means 2.5 and 5, variances 5/3 and 20/3, n = 4 each: t = -2.5 / sqrt(25/12) = -sqrt(3)
    assert timing.welch_t([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(-math.sqrt(3))
    assert timing.welch_t([5, 5, 5], [5, 5, 5]) == 0.0
    with pytest.raises(ValueError):
        timing.welch_t([1], [1, 2])


def test_mann_whitney_u_textbook_values() -> None:
    # complete separation, n = 3 + 3: U = 0, mean 4.5, variance 3*3*7/12 = 5.25, z = -1.964, p = 0.0495
    u, z, p = timing.mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert u == 0 and z == pytest.approx(-4.5 / math.sqrt(5.25)) and p == pytest.approx(0.04953, abs=1e-4)
    # ties: a = [1, 2, 2], b = [2, 3, 3]; ranks 1, 3, 3 | 3, 5.5, 5.5 -> R_a = 7, U_a = 1
    u, z, p = timing.mann_whitney_u([1, 2, 2], [2, 3, 3])
    tie_variance = 9 / 12 * (7 - (27 - 3 + 8 - 2) / 30)  # ties of 3 and 2: sum(t^3 - t) = 24 + 6
    assert u == 1 and z == pytest.approx((1 - 4.5) / math.sqrt(tie_variance))
    assert timing.mann_whitney_u([1, 1], [1, 1])[2] == 1.0


def test_interleaved_measurement_shape() -> None:
    calls: list[str] = []
    cases = {name: (lambda n=name: calls.append(n)) for name in ("a", "b", "c")}
    result = timing.measure_interleaved(cases, 25, seed=3, warmup=2)
    assert {k: len(v) for k, v in result.items()} == {"a": 25, "b": 25, "c": 25}
    assert all(t >= 0 for v in result.values() for t in v)
    assert len(calls) == 3 * 27
    orders = {tuple(calls[i : i + 3]) for i in range(6, len(calls), 3)}
    assert len(orders) > 1  # the order is shuffled every round


def test_cbc_harness_runs_and_checks_outcomes() -> None:
    """Tiny run for both suites; cbc_cases itself asserts valid records open and the others fail."""
    for suite in ("AES128-SHA", "AES128-SHA256"):
        report = timing.run_cbc_timing(suite, samples=20)
        names = [s["name"] for s in report["summaries"]]
        assert names[:4] == ["valid, padding 0", "valid, padding 255", "bad MAC, padding 0", "bad MAC, padding 0 (control)"]
        assert sum(name.startswith("bad padding") for name in names) == 5
        assert len(report["comparisons"]) == 2 * (len(names) - 1)
        assert report["record_length"] == 341
        assert suite in timing.format_report(report)


def test_cbc_cases_have_equal_record_lengths() -> None:
    _cases, fragments = timing.cbc_cases("AES128-SHA256")
    assert {len(f) for f in fragments.values()} == {16 + 320}


def test_rsa_harness_runs_and_checks_countermeasure() -> None:
    """Tiny run with a 1024-bit key; rsa_cases asserts only the valid case yields the sent premaster."""
    report = timing.run_rsa_timing(samples=3, key_bits=1024)
    assert len(report["summaries"]) == 8
    assert {c["baseline"] for c in report["comparisons"]} == {"valid premaster"}
    assert "bad padding: no zero separator" in timing.format_report(report)
