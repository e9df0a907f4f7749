"""Write the tiny end-to-end cohort of tests/e2e/test_workflow.py (its `make_project`) into folders.

    python tools/slurm/make_tiny.py DIR [DIR ...]
    python tools/slurm/make_tiny.py --negative-count DIR     # a cohort the input stage must reject

Every folder gets the same data, sheets and config, so that runs in them are comparable file by file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests")]

from test_workflow import make_project  # noqa: E402


def break_with_negative_count(root: Path) -> None:
    """One negative RNA count: validate_inputs must fail and say so in its log."""
    path = root / "data" / "rna.tsv"
    table = pd.read_csv(path, sep="\t", index_col=0)
    table.iloc[5, 7] = -3
    table.to_csv(path, sep="\t")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--negative-count", action="store_true", help="plant a negative RNA count")
    args = parser.parse_args(argv)
    for root in args.dirs:
        (root / "config").mkdir(parents=True, exist_ok=True)
        make_project(root)
        if args.negative_count:
            break_with_negative_count(root)


if __name__ == "__main__":
    main()
