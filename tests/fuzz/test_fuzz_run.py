"""The bounded CI fuzz run (.ci/run → ``fuzz/run.py --quiet --ignore-known``), issue 5 item 2.

Checked here: on a machine where atheris cannot be had the run still fuzzes, with the pure-Python
engine, and says so; a new crash makes the run exit non-zero with the input saved and the log's tail
shown; the CI step in .ci/run is the documented one. A planted bug is loaded into every child process
through ``sitecustomize`` (PYTHONPATH), so the runner is tested exactly as CI runs it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = [sys.executable, str(ROOT / "fuzz" / "run.py")]


def _run(args: list[str], site: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), **(extra_env or {})}
    return subprocess.run([*RUN, *args], capture_output=True, text=True, timeout=240, check=False, env=env, cwd=ROOT)


def _site(tmp_path: Path, code: str) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(code)
    return site


BLOCK_ATHERIS = "import sys\nsys.modules['atheris'] = None  # import atheris -> ImportError\n"
PLANT_BUG = (
    "import tlsstate.wire.keylog as keylog\n"
    "def broken(*args, **kwargs):\n"
    "    raise KeyError('planted bug')\n"
    "keylog.parse_keylog = broken\n"
)


def test_without_atheris_the_run_falls_back_and_says_so(tmp_path: Path) -> None:
    """atheris not importable and no wheel reachable (pip offline): the random engine fuzzes, announced."""
    site = _site(tmp_path, BLOCK_ATHERIS)
    result = _run(["--seconds", "2", "--targets", "keylog,deframer", "--quiet", "--seed", "3",
                   "--artifacts", str(tmp_path / "art")], site, {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""})
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "atheris unavailable" in out and "FALLBACK" in out, out
    assert "engine=random" in out
    assert "random engine, seed 3" in out  # the workers really ran the mutator (their summary line)
    assert "fuzz run passed: 2 targets" in out


@pytest.mark.parametrize("engine", ["random", "atheris"])
def test_a_new_crash_fails_the_run(tmp_path: Path, engine: str) -> None:
    if engine == "atheris" and importlib.util.find_spec("atheris") is None:
        pytest.skip("atheris not installed")
    site = _site(tmp_path, PLANT_BUG)
    art = tmp_path / "art"
    result = _run(["--engine", engine, "--no-install", "--seconds", "5", "--targets", "keylog", "--quiet",
                   "--ignore-known", "--artifacts", str(art)], site)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "fuzz run FAILED for: keylog" in out
    assert "planted bug" in out  # the tail of the worker log is shown in the CI output
    crashes = [p for p in art.iterdir() if p.name.startswith("keylog-crash-")]
    assert crashes, list(art.iterdir())
    repro = _run(["--repro", "keylog", str(crashes[0])], site)
    assert repro.returncode != 0 and "planted bug" in repro.stderr


def test_ci_runs_the_bounded_fuzz_step_after_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script and "fuzz/run.py" in script
    assert script.index("make test") < script.index("fuzz/run.py")
    step = next(line for line in script.splitlines() if "fuzz/run.py" in line and not line.lstrip().startswith("#"))
    assert "--quiet" in step and "--ignore-known" in step and "--seconds" in step
    seconds = int(step.split("--seconds")[1].split()[0])
    from fuzz.run import ALL_TARGETS

    assert seconds * len(ALL_TARGETS) <= 180, "the CI fuzz run's fuzzing time must stay within 3 minutes"
