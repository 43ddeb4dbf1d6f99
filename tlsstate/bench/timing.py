"""Side-channel timing harness (issue 5, item 5): does the time of a failure path depend on *why* it failed?

Two surfaces, each measured as a set of *cases* that an attacker can choose between, all the same size:

* **CBC MAC-then-encrypt open** (RFC 5246 §6.2.3.2; Lucky 13, AlFardan & Paterson 2013): one TLS 1.2
  AES-128-CBC record of fixed length, opened by :class:`tlsstate.record.protection.CbcMacThenEncrypt` —
  valid (padding 0 and padding 255), bad MAC with valid padding, invalid padding of several lengths, and
  an A/A control (a second bad-MAC record) that shows what the statistics report when nothing differs.
  Records are built here with pyca primitives (AES-CBC, HMAC), independently of the code under test, and
  every case is checked to open / fail as expected before it is timed.
* **RSA premaster decryption in the server** (RFC 5246 §7.4.7.1; Bleichenbacher 1998):
  :func:`tlsstate.crypto.dh.rsa_decrypt_premaster` with a valid premaster, a wrong client_version, a wrong
  premaster length, and bad PKCS #1 v1.5 padding (first bytes not 00 02, no zero separator, separator too
  early), plus an A/A control (a second valid premaster). The malformed-padding ciphertexts are
  textbook RSA of attacker-chosen blocks (``pow(m, e, n)``),
  exactly what a Bleichenbacher attacker sends; pyca cannot produce them. This is input construction for
  the measurement only, not a primitive used by tlsstate.

Method: :func:`measure_interleaved` calls every case once per round, in a fresh random order each
round, timing each call with ``time.perf_counter_ns`` (the garbage collector off while measuring), so
drift and background load hit all cases alike. Each case is compared with a baseline case by
distribution summaries (median, IQR, p10/p90), a Welch t statistic (dudect, Reparaz et al. 2017: |t| > 4.5
is treated as a detected difference; computed on all samples and on samples below the pooled 90th
percentile, to drop interrupts/preemption) and a Mann-Whitney U test (normal approximation with tie
correction). All statistics are small pure-Python implementations (no scipy dependency).

Entry points: :func:`run_cbc_timing`, :func:`run_rsa_timing` (JSON-ready dicts) and
:func:`format_report`; command line wrappers in ``benchmarks/timing_cbc.py`` and ``benchmarks/timing_rsa.py``.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tlsstate.crypto.dh import rsa_decrypt_premaster
from tlsstate.crypto.suites import by_name
from tlsstate.record.protection import make_protection
from tlsstate.wire.errors import BadRecordMAC

__all__ = [
    "Comparison", "Summary", "cbc_cases", "compare", "format_report", "mann_whitney_u", "measure_interleaved",
    "rsa_cases", "run_cbc_timing", "run_rsa_timing", "summarize", "welch_t",
]

TLS12 = 0x0303
APPLICATION_DATA = 23
DUDECT_THRESHOLD = 4.5


# ------------------------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class Summary:
    """Distribution of one case's timings in nanoseconds."""

    name: str
    n: int
    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    iqr: float
    mean: float


def _quantile(sorted_values: Sequence[int | float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default, "type 7") of already sorted values."""
    if not sorted_values:
        raise ValueError("no samples")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(name: str, samples: Sequence[int | float]) -> Summary:
    """Median, quartiles, p10/p90 and mean of ``samples``."""
    ordered = sorted(samples)
    p25, p75 = _quantile(ordered, 0.25), _quantile(ordered, 0.75)
    return Summary(
        name=name, n=len(ordered), median=_quantile(ordered, 0.5), p10=_quantile(ordered, 0.10), p25=p25,
        p75=p75, p90=_quantile(ordered, 0.90), iqr=p75 - p25, mean=sum(ordered) / len(ordered),
    )


def welch_t(a: Sequence[int | float], b: Sequence[int | float]) -> float:
    """Welch's t statistic (unequal variances) of mean(a) - mean(b); 0 when both are constant."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        raise ValueError("need at least two samples per group")
    mean_a, mean_b = sum(a) / na, sum(b) / nb
    var_a = sum((x - mean_a) ** 2 for x in a) / (na - 1)
    var_b = sum((x - mean_b) ** 2 for x in b) / (nb - 1)
    denominator = math.sqrt(var_a / na + var_b / nb)
    if denominator == 0:
        return 0.0
    return (mean_a - mean_b) / denominator


def mann_whitney_u(a: Sequence[int | float], b: Sequence[int | float]) -> tuple[float, float, float]:
    """Mann-Whitney U test: (U of ``a``, z, two-sided p) with average ranks for ties and the tie-corrected
    normal approximation (valid for the thousands of samples used here). z > 0: ``a`` tends to be larger."""
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        raise ValueError("need samples in both groups")
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    rank_sum_a = 0.0
    tie_term = 0.0
    i = 0
    n = na + nb
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        count = j - i + 1
        tie_term += count**3 - count
        rank_sum_a += average_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        i = j + 1
    u_a = rank_sum_a - na * (na + 1) / 2
    mean_u = na * nb / 2
    variance = na * nb / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return u_a, 0.0, 1.0
    z = (u_a - mean_u) / math.sqrt(variance)
    p = math.erfc(abs(z) / math.sqrt(2))
    return u_a, z, p


@dataclass(frozen=True)
class Comparison:
    """One case against the baseline case."""

    case: str
    baseline: str
    median_difference_ns: float
    relative_median_difference: float
    welch_t: float
    welch_t_cropped: float
    mann_whitney_z: float
    mann_whitney_p: float

    @property
    def detected(self) -> bool:
        """dudect criterion on the cropped samples: |t| above 4.5."""
        return abs(self.welch_t_cropped) > DUDECT_THRESHOLD


def compare(samples: Mapping[str, Sequence[int]], baseline: str) -> list[Comparison]:
    """Every case against ``baseline``: median difference, Welch t (all / cropped at the pooled p90), U test."""
    base = samples[baseline]
    base_median = summarize(baseline, base).median
    out = []
    for name, values in samples.items():
        if name == baseline:
            continue
        threshold = _quantile(sorted([*values, *base]), 0.90)
        cropped_a = [x for x in values if x <= threshold]
        cropped_b = [x for x in base if x <= threshold]
        _u, z, p = mann_whitney_u(values, base)
        median = summarize(name, values).median
        out.append(Comparison(
            case=name, baseline=baseline, median_difference_ns=median - base_median,
            relative_median_difference=(median - base_median) / base_median if base_median else 0.0,
            welch_t=welch_t(values, base), welch_t_cropped=welch_t(cropped_a, cropped_b),
            mann_whitney_z=z, mann_whitney_p=p,
        ))
    return out


# ------------------------------------------------------------------------------------------ measuring


def measure_interleaved(
    cases: Mapping[str, Callable[[], object]], samples: int, *, seed: int = 0, warmup: int = 50
) -> dict[str, list[int]]:
    """``samples`` timings (ns) per case; each round runs every case once in a new random order."""
    if samples < 1:
        raise ValueError("samples must be positive")
    names = list(cases)
    rng = random.Random(seed)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    results: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(samples):
            rng.shuffle(names)
            for name in names:
                call = cases[name]
                start = clock()
                call()
                results[name].append(clock() - start)
    finally:
        if was_enabled:
            gc.enable()
    return results


# ------------------------------------------------------------------------------------------ CBC cases


def _hmac(hash_name: str, key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, getattr(hashes, hash_name.upper())())
    mac.update(data)
    return mac.finalize()


def cbc_cases(
    suite_name: str = "AES128-SHA", record_plaintext: int = 320, pads: Sequence[int] = (1, 16, 64, 128, 255),
) -> tuple[dict[str, Callable[[], object]], dict[str, bytes]]:
    """Timed callables for one TLS 1.2 MAC-then-encrypt suite; every record has the same length.

    ``record_plaintext`` is the encrypted length after the explicit IV (content + MAC + padding, a
    multiple of 16). Returns (cases, fragments). Raises AssertionError if tlsstate opens a valid record
    wrongly or accepts an invalid one (checked once before timing).
    """
    suite = by_name(suite_name)
    if suite is None or suite.mac is None:
        raise ValueError(f"{suite_name} is not a CBC suite")
    hash_name = suite.mac.hash_name
    mac_length = suite.mac.length
    key, mac_key = os.urandom(16), os.urandom(mac_length)
    protection = make_protection(suite, TLS12, mac_key, key, os.urandom(16), encrypt_then_mac=False)
    seq = 7

    def record(content_length: int, pad_byte: int, pad_length: int, *, break_pad: bool, break_mac: bool) -> bytes:
        content = os.urandom(content_length)
        header = seq.to_bytes(8, "big") + bytes([APPLICATION_DATA]) + TLS12.to_bytes(2, "big")
        mac = bytearray(_hmac(hash_name, mac_key, header + content_length.to_bytes(2, "big") + content))
        if break_mac:
            mac[0] ^= 0x01
        pad = bytearray([pad_byte] * (pad_length + 1))
        if break_pad and pad_length:
            pad[0] ^= 0x01  # the first padding byte (farthest from the length byte) is wrong
        plaintext = content + bytes(mac) + bytes(pad)
        assert len(plaintext) == record_plaintext, (len(plaintext), record_plaintext)
        iv = os.urandom(16)
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(plaintext) + encryptor.finalize()

    room = record_plaintext - mac_length  # content + padding + length byte
    fragments: dict[str, bytes] = {
        "valid, padding 0": record(room - 1, 0, 0, break_pad=False, break_mac=False),
        "valid, padding 255": record(room - 256, 255, 255, break_pad=False, break_mac=False),
        "bad MAC, padding 0": record(room - 1, 0, 0, break_pad=False, break_mac=True),
        # A/A control: the same case with other random bytes; what the statistics show with no real difference
        "bad MAC, padding 0 (control)": record(room - 1, 0, 0, break_pad=False, break_mac=True),
    }
    for pad in pads:
        fragments[f"bad padding, length {pad}"] = record(room - 1 - pad, pad, pad, break_pad=True, break_mac=False)
    expected_ok = {"valid, padding 0": room - 1, "valid, padding 255": room - 256}
    for name, fragment in fragments.items():
        try:
            opened = protection.open(seq, APPLICATION_DATA, TLS12, fragment)
        except BadRecordMAC:
            assert name not in expected_ok, f"{suite_name}: tlsstate rejected the {name} record"
        else:
            assert expected_ok.get(name) == len(opened), f"{suite_name}: tlsstate accepted the {name} record"

    def make_call(fragment: bytes) -> Callable[[], object]:
        open_record = protection.open

        def call() -> object:
            try:
                return open_record(seq, APPLICATION_DATA, TLS12, fragment)
            except BadRecordMAC:
                return None

        return call

    return {name: make_call(fragment) for name, fragment in fragments.items()}, fragments


# ------------------------------------------------------------------------------------------ RSA cases


def _textbook_rsa(public: rsa.RSAPublicKey, block: bytes) -> bytes:
    numbers = public.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    return pow(int.from_bytes(block, "big"), numbers.e, numbers.n).to_bytes(size, "big")


def _nonzero(length: int) -> bytes:
    return bytes(b or 1 for b in os.urandom(length))


def rsa_cases(
    key_bits: int = 2048, client_version: int = TLS12
) -> tuple[dict[str, Callable[[], object]], rsa.RSAPrivateKey]:
    """Timed callables for :func:`tlsstate.crypto.dh.rsa_decrypt_premaster` with one server key.

    Checks once before timing that the valid case yields the sent premaster and every other case a
    48-byte premaster different from the attacker's plaintext (the RFC 5246 §7.4.7.1 countermeasure).
    """
    private_key = rsa.generate_private_key(65537, key_bits)
    public = private_key.public_key()
    size = (key_bits + 7) // 8
    version = client_version.to_bytes(2, "big")
    valid_premaster = version + os.urandom(46)
    control_premaster = version + os.urandom(46)
    wrong_version = (client_version - 2).to_bytes(2, "big") + os.urandom(46)
    pkcs1 = padding.PKCS1v15()
    ciphertexts = {
        "valid premaster": (public.encrypt(valid_premaster, pkcs1), valid_premaster),
        # A/A control: another valid premaster and ciphertext; what the statistics show with no real difference
        "valid premaster (control)": (public.encrypt(control_premaster, pkcs1), control_premaster),
        "wrong client_version": (public.encrypt(wrong_version, pkcs1), wrong_version),
        "wrong length (47 bytes)": (public.encrypt(valid_premaster[:47], pkcs1), valid_premaster[:47]),
        "wrong length (64 bytes)": (public.encrypt(valid_premaster + bytes(16), pkcs1), valid_premaster + bytes(16)),
        "bad padding: 00 01 block type": (
            _textbook_rsa(public, b"\x00\x01" + _nonzero(size - 3 - 48) + b"\x00" + valid_premaster), valid_premaster),
        "bad padding: no zero separator": (_textbook_rsa(public, b"\x00\x02" + _nonzero(size - 2)), valid_premaster),
        "bad padding: separator too early": (
            _textbook_rsa(public, b"\x00\x02" + _nonzero(4) + b"\x00" + os.urandom(size - 7)), valid_premaster),
    }
    for name, (ciphertext, sent) in ciphertexts.items():
        result = rsa_decrypt_premaster(private_key, ciphertext, client_version)
        assert len(result) == 48, name
        assert (result == sent) == name.startswith("valid premaster"), f"countermeasure failed for {name}"

    def make_call(ciphertext: bytes) -> Callable[[], object]:
        def call() -> object:
            return rsa_decrypt_premaster(private_key, ciphertext, client_version)

        return call

    return {name: make_call(ct) for name, (ct, _sent) in ciphertexts.items()}, private_key


# ------------------------------------------------------------------------------------------ runs


def _environment() -> dict[str, Any]:
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    return {
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "machine": platform.machine(), "cpus": os.cpu_count(), "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
    }


def _report(surface: str, samples: dict[str, list[int]], baselines: Sequence[str], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "surface": surface,
        **extra,
        "environment": _environment(),
        "baselines": list(baselines),
        "summaries": [asdict(summarize(name, values)) for name, values in samples.items()],
        "comparisons": [
            {**asdict(c), "detected": c.detected} for baseline in baselines for c in compare(samples, baseline)
        ],
    }


def run_cbc_timing(
    suite_name: str = "AES128-SHA", samples: int = 20000, *, record_plaintext: int = 320, seed: int = 1
) -> dict[str, Any]:
    """Measure every CBC case of one suite against two baselines: the valid record with padding 0 (does a
    failure look different from success?) and the bad-MAC record (do the failures differ among themselves —
    the Lucky 13 question: the padding must not be distinguishable from the MAC)."""
    cases, _ = cbc_cases(suite_name, record_plaintext)
    timings = measure_interleaved(cases, samples, seed=seed)
    return _report(f"CBC MAC-then-encrypt open, TLS 1.2 {suite_name}", timings, ["valid, padding 0", "bad MAC, padding 0"],
                   {"suite": suite_name, "record_length": 5 + 16 + record_plaintext, "samples": samples})


def run_rsa_timing(samples: int = 3000, *, key_bits: int = 2048, seed: int = 1) -> dict[str, Any]:
    """Measure every RSA premaster case against the valid premaster (Bleichenbacher: no case may differ)."""
    cases, _ = rsa_cases(key_bits)
    timings = measure_interleaved(cases, samples, seed=seed, warmup=10)
    return _report("RSA premaster decryption (tlsstate.crypto.dh.rsa_decrypt_premaster)", timings, ["valid premaster"],
                   {"key_bits": key_bits, "samples": samples})


def _p_text(p: float) -> str:
    return f"{p:.2g}" if p > 0 else "<1e-300"  # below double precision: erfc underflows


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text table of one run (times in microseconds)."""
    lines = [f"{report['surface']}  ({report['samples']} interleaved samples per case)"]
    env = report["environment"]
    lines.append(f"  Python {env['python']}, cryptography {env['cryptography']}, {env['openssl']}, {env['cpus']} CPUs")
    lines.append(f"  {'case':36} {'median':>8} {'IQR':>8} {'p10':>8} {'p90':>8}   (us)")
    for s in report["summaries"]:
        values = (s["median"], s["iqr"], s["p10"], s["p90"])
        lines.append(f"  {s['name']:36} " + " ".join(f"{v / 1e3:8.3f}" for v in values))
    for baseline in report["baselines"]:
        lines.append(f"  vs {baseline!r}:")
        lines.append(f"    {'case':36} {'d median':>10} {'t':>7} {'t(crop)':>8} {'U z':>7} {'U p':>9}")
        for c in report["comparisons"]:
            if c["baseline"] != baseline:
                continue
            flag = "  <- |t| > 4.5" if c["detected"] else ""
            lines.append(
                f"    {c['case']:36} {c['median_difference_ns'] / 1e3:+8.3f}us {c['welch_t']:7.1f} "
                f"{c['welch_t_cropped']:8.1f} {c['mann_whitney_z']:7.1f} {_p_text(c['mann_whitney_p']):>9}{flag}"
            )
    return "\n".join(lines)
