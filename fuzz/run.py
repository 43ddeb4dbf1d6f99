#!/usr/bin/env python3
"""Bounded, reproducible fuzz run over every target in ``fuzz/targets.py`` (issue 5, item 2).

Usage (from the repository root, with the project venv)::

    .venv/bin/python fuzz/run.py                      # CI: every target 20 s, seed = days since epoch
    .venv/bin/python fuzz/run.py --seconds 600 --targets server,client --corpus-dir fuzz-corpus
    .venv/bin/python fuzz/run.py --seed 20419         # repeat the run of a given day (seed is in the log)
    .venv/bin/python fuzz/run.py --repro server crash-0123abcd   # re-run one saved input

Engines: ``atheris`` (coverage-guided libFuzzer, PyPI ``atheris``; installed with pip when missing and
``--no-install`` is not given) or ``random`` (a pure-Python mutator seeded with the same seed: no
coverage feedback, but the same targets and checks, so the run works wherever the test suite does).
``auto`` (default) uses atheris when it can be imported or installed.

Each target runs in its own child process (a crash or hang in one does not stop the others) for at most
``--seconds``; libFuzzer also gets ``-timeout`` (one input) and ``-rss_limit_mb`` (memory) so hangs and
unbounded memory count as failures. Crashing inputs are written to ``--artifacts`` (default
``fuzz-artifacts/``) as ``<target>-crash-<sha1>``; the exit status is 1 if any target failed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALL_TARGETS = ("deframer", "message", "extension", "sslv2", "client", "server", "established", "keylog", "capture",
               "key_exchange", "hello_sequences", "compression", "starttls", "capture_tools", "large_hello")
DEFAULT_SECONDS = 20
INPUT_TIMEOUT = 10  # seconds for one input: longer is a hang
RSS_LIMIT_MB = 1024
MAX_LEN = 65536


def day_seed() -> int:
    """Days since 1970-01-01 (UTC): a new seed every day, reproducible from the log."""
    return int(time.time() // 86400)


def _quiet_warnings() -> None:
    warnings.simplefilter("ignore")  # deprecated TLS versions / FFDH / CA serial warnings are expected


# ------------------------------------------------------------------------------------------ engines


def _atheris_worker(target: str, seed: int, seconds: int, corpus: Path, artifacts: Path) -> None:
    """Runs inside the child process: libFuzzer loop over one target (never returns normally)."""
    import atheris

    _quiet_warnings()
    with atheris.instrument_imports(include=["tlsstate", "fuzz"]):
        from fuzz import targets
    function = targets.TARGETS[target]
    args = [
        sys.argv[0], f"-seed={seed}", f"-max_total_time={seconds}", f"-timeout={INPUT_TIMEOUT}",
        f"-rss_limit_mb={RSS_LIMIT_MB}", f"-max_len={MAX_LEN}", f"-artifact_prefix={artifacts}/{target}-",
        "-print_final_stats=1", str(corpus),
    ]
    atheris.Setup(args, function)
    atheris.Fuzz()


def _mutate(rng: random.Random, data: bytes, pool: tuple[bytes, ...]) -> bytes:
    """A few byte-level mutations (flip, interesting values, insert, delete, duplicate, splice, lengths)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.randrange(8)
        pos = rng.randrange(len(out) + 1)
        if choice == 0 and out:
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:
            out[min(pos, len(out) - 1)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0xFE, 3, 4, 0x16, 0x14))
        elif choice == 2:
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif choice == 3 and out:
            del out[pos : pos + rng.randint(1, 64)]
        elif choice == 4 and out:
            start = rng.randrange(len(out))
            out[pos:pos] = out[start : start + rng.randint(1, 256)]
        elif choice == 5 and pool:
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            out[pos:] = other[start : start + rng.randint(1, 512)]
        elif choice == 6 and len(out) >= 2:  # a big-endian length field with an edge value
            value = rng.choice((0, 1, 0xFF, 0x100, 0x3FFF, 0x4000, 0x4001, 0x4800, 0x4801, 0xFFFF))
            p = min(pos, len(out) - 2)
            out[p : p + 2] = value.to_bytes(2, "big")
        elif choice == 7:
            del out[pos:]
    return bytes(out[:MAX_LEN])


def _random_worker(target: str, seed: int, seconds: int, corpus: Path, artifacts: Path) -> int:
    """Pure-Python fallback: mutate seeds with random.Random(seed) until the time is up."""
    _quiet_warnings()
    from fuzz import targets

    function: Callable[[bytes], None] = targets.TARGETS[target]
    pool = tuple(p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()) or (b"",)
    rng = random.Random(f"{seed}:{target}")
    deadline = time.monotonic() + seconds
    runs = 0
    for data in pool:  # every seed must pass unmutated first
        runs += 1
        if not _run_one(function, target, data, artifacts):
            return 1
    while time.monotonic() < deadline:
        data = _mutate(rng, rng.choice(pool), pool)
        runs += 1
        if not _run_one(function, target, data, artifacts):
            return 1
    print(f"#{runs} DONE (random engine, seed {seed})", flush=True)
    return 0


def _run_one(function: Callable[[bytes], None], target: str, data: bytes, artifacts: Path) -> bool:
    try:
        function(data)
    except Exception:
        path = artifacts / f"{target}-crash-{hashlib.sha1(data).hexdigest()}"
        path.write_bytes(data)
        traceback.print_exc()
        print(f"==CRASH== input written to {path} ({len(data)} bytes): {data[:64].hex()}...", flush=True)
        return False
    return True


def _have_atheris(install: bool) -> tuple[bool, str]:
    """(available, why not). A missing atheris is installed from a binary wheel only (``--only-binary``):
    a source build needs clang with libFuzzer and may take minutes, so where PyPI has no wheel for this
    platform/Python the run falls back to the ``random`` engine at once instead."""
    try:
        import atheris
    except ImportError as exc:
        if not install:
            return False, f"atheris not importable ({exc}) and --no-install given"
        print("atheris not installed: pip install --only-binary=atheris atheris", flush=True)
        try:
            result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--only-binary=atheris", "atheris"],
                                    timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"pip install atheris failed: {error}"
        if result.returncode != 0:
            return False, f"no atheris wheel could be installed for this platform (pip exit {result.returncode})"
        try:
            import atheris  # noqa: F401
        except ImportError as error:
            return False, f"atheris installed but not importable: {error}"
    return True, ""


def _summary(log: str) -> str:
    """The last libFuzzer 'Done N runs' / random-engine '#N DONE' line of a worker log, if any."""
    lines = [line for line in log.splitlines() if line.startswith("Done ") or " DONE " in line
             or line.startswith("stat::new_units_added")]
    return "; ".join(" ".join(line.split()) for line in lines[-2:])


# ------------------------------------------------------------------------------------------ driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", default=",".join(ALL_TARGETS), help="subset of " + ", ".join(ALL_TARGETS))
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="time budget per target (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="fuzzer seed (default: days since epoch)")
    parser.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    parser.add_argument("--no-install", action="store_true", help="never pip install atheris")
    parser.add_argument("--corpus-dir", type=Path, default=None, help="persistent corpus root (default: temporary)")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "fuzz-artifacts", help="where crashing inputs go")
    parser.add_argument("--ignore-known", action="store_true",
                        help="skip bugs already reported (fuzz/targets.py KNOWN_BUGS) to look for new ones")
    parser.add_argument("--quiet", action="store_true",
                        help="write each target's engine output to ARTIFACTS/<target>.log; print only a summary "
                             "line per target (and the log's tail when a target fails)")
    parser.add_argument("--repro", nargs=2, metavar=("TARGET", "FILE"), help="run one input through a target and exit")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seed = day_seed() if args.seed is None else args.seed
    if args.ignore_known:
        os.environ["TLSSTATE_FUZZ_IGNORE_KNOWN"] = "1"  # read by fuzz/targets.py in this and the child processes

    if args.repro:
        _quiet_warnings()
        from fuzz import targets

        targets.run_target(args.repro[0], Path(args.repro[1]).read_bytes())
        print("no failure")
        return 0
    if args.worker:
        engine, target = args.worker
        corpus = args.corpus_dir
        assert corpus is not None
        if engine == "atheris":
            _atheris_worker(target, seed, args.seconds, corpus, args.artifacts)
            return 0
        return _random_worker(target, seed, args.seconds, corpus, args.artifacts)

    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(names) - set(ALL_TARGETS))
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    engine = args.engine
    if engine in ("auto", "atheris"):
        available, why = _have_atheris(install=not args.no_install)
        if available:
            engine = "atheris"
        elif engine == "atheris":
            print(f"atheris unavailable: {why}", file=sys.stderr)
            return 2
        else:
            engine = "random"
            print(f"atheris unavailable: {why}; FALLBACK to the pure-Python 'random' engine (same targets, seeds "
                  "and checks, no coverage feedback)", flush=True)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    print(f"fuzz run: engine={engine} seed={seed} seconds/target={args.seconds} targets={','.join(names)}", flush=True)
    print(f"reproduce: {sys.executable} fuzz/run.py --engine {engine} --seed {seed} --seconds {args.seconds} "
          f"--targets {','.join(names)}" + (" --ignore-known" if args.ignore_known else ""), flush=True)

    _quiet_warnings()
    from fuzz import corpus as corpus_module

    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tlsstate-fuzz-") as scratch:
        root = args.corpus_dir or Path(scratch)
        for target in names:
            corpus = root / target
            count = corpus_module.write_corpus(corpus, target)
            print(f"== {target}: {count} seed inputs, {args.seconds} s", flush=True)
            started = time.monotonic()
            command = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, target, "--seed", str(seed),
                       "--seconds", str(args.seconds), "--corpus-dir", str(corpus), "--artifacts", str(args.artifacts)]
            log_path = args.artifacts / f"{target}.log"
            try:  # libFuzzer stops itself at max_total_time; the kill is a backstop for a hung input
                with contextlib.ExitStack() as stack:
                    log = stack.enter_context(open(log_path, "w")) if args.quiet else None
                    result = subprocess.run(command, timeout=args.seconds + INPUT_TIMEOUT + 120, check=False,
                                            env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=log,
                                            stderr=subprocess.STDOUT if args.quiet else None)
                code = result.returncode
            except subprocess.TimeoutExpired:
                code = -1
            elapsed = time.monotonic() - started
            status = "ok" if code == 0 else f"FAILED (exit {code})"
            summary = ""
            if args.quiet:
                text = log_path.read_text(errors="replace")
                summary = f" [{_summary(text)}]" if _summary(text) else ""
                if code != 0:
                    print("\n".join(text.splitlines()[-80:]), flush=True)
            print(f"== {target}: {status} after {elapsed:.0f} s{summary}", flush=True)
            if code != 0:
                failed.append(target)
    if failed:
        print(f"fuzz run FAILED for: {', '.join(failed)} (inputs in {args.artifacts}; re-run one with --repro TARGET FILE)")
        return 1
    print(f"fuzz run passed: {len(names)} targets, seed {seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
