"""The workflow passes Snakemake's own linter and snakefmt, and the Python code ruff's lint and format
checks (the standards of the project; ruff's rules are in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_snakemake_lint_is_clean():
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--cores", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Lints for" not in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]


def test_snakefmt_is_clean():
    exe = shutil.which("snakefmt") or str(Path(sys.executable).with_name("snakefmt"))
    if not Path(exe).exists():
        pytest.skip("snakefmt is not installed")
    res = subprocess.run([exe, "--check", "rules", "Snakefile"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]


def test_ruff_is_clean():
    venv_ruff = Path(sys.executable).with_name("ruff")
    exe = str(venv_ruff) if venv_ruff.exists() else shutil.which("ruff")
    if not exe:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    for args in (["check", "."], ["format", "--check", "."]):
        res = subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"ruff {' '.join(args)}:\n" + (res.stdout + res.stderr)[-3000:]
