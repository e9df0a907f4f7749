"""The committed demo sheets match what the simulator writes for the configured seed."""

from pathlib import Path

import pandas as pd
import yaml

from moflow.demo import simulate_cohort

REPO = Path(__file__).resolve().parents[2]


def test_samples_sheet_matches_simulator():
    demo = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["demo"]
    sheet = simulate_cohort(**demo).sheet.astype(str)
    committed = pd.read_csv(REPO / "config" / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(committed, sheet.reset_index(drop=True))


def test_omics_sheet_points_at_demo_outputs():
    omics = pd.read_csv(REPO / "config" / "omics.tsv", sep="\t", dtype=str)
    smk = (REPO / "rules" / "demo.smk").read_text()
    for path in omics["path"]:
        assert f'"{path}"' in smk, f"{path} is not written by rule simulate_demo"
