"""The workflow on the real cohorts, run the way a stranger runs it: a folder of their own with the
files as the dataset ships them (CSV, samples in rows), two sheets and a short config, then
`snakemake -s <moflow>/Snakefile` inside the folder. Each cohort has what the simulator does not:

* breast_tcga: three subtypes, an external test set that lacks the protein layer, Hallmark gene sets;
* cll_mofa: a survival outcome missing for 26 samples (``outcome: missing: exclude``), among them the
  16 the drug matrix holds as rows of NA; a binary layer 34% missing;
* mtbls79_dims_metabolomics: pooled QC injections, 8 batches, injection order, and ~7 injections of
  each of 20 animals (``evaluation: group_column``);
* dep_ubilength: 12 samples, 4 conditions x 3 replicates, 44% missing (3 folds; 2 training samples
  per class leave 2 inner folds).

Published figures to compare with are in each dataset's README (../shared/data/<name>/README.txt).
Each run is as small as its point needs: the design stage (learning-curve refits, most of a run's time)
runs in the cll (survival) and ubilength (12 samples) runs only. 15-40 s per cohort on 2 cores.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from realdata_helpers import require_dataset
from side_by_side import side_by_side, started

from moflow import io
from moflow.evaluate.ranking import best_strategy

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.realdata


def _run(folder: Path) -> Path:
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    r = subprocess.run(
        [exe, "-s", str(REPO / "Snakefile"), "--cores", "2"], cwd=folder, capture_output=True, text=True, timeout=1200
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return folder / "results"


def _folder(root: Path, omics: list[dict], config: str, sheet: pd.DataFrame, files: dict[str, Path]) -> Path:
    (root / "config").mkdir(parents=True)
    (root / "data").mkdir()
    sheet.to_csv(root / "config" / "samples.tsv", sep="\t", index=False)
    cols = ["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"]
    pd.DataFrame(omics).reindex(columns=cols).fillna("").to_csv(root / "config" / "omics.tsv", sep="\t", index=False)
    (root / "config" / "config.yaml").write_text("samples: config/samples.tsv\nomics: config/omics.tsv\n" + config)
    for rel, src in files.items():
        shutil.copy(src, root / rel)
    return root


def _board(results: Path) -> pd.DataFrame:
    return io.read_table(results / "evaluate" / "scoreboard.tsv").set_index("strategy")


def _breast(base: Path) -> Path:
    d = require_dataset("breast_tcga")
    genesets = require_dataset("genesets")
    root, tmp = base / "breast", base / "breast_joined"
    tmp.mkdir()
    for layer in ("mrna", "mirna"):  # the user joins the train and test files of a layer
        pd.concat([pd.read_csv(d / f"{layer}_train.csv"), pd.read_csv(d / f"{layer}_test.csv")]).to_csv(
            tmp / f"{layer}.csv", index=False
        )
    folder = _folder(
        root,
        [
            {
                "layer": "mrna",
                "kind": "log_expression",
                "path": "data/mrna.csv",
                "log_scale": "true",
                "gene_ids": "symbol",
            },
            {"layer": "mirna", "kind": "log_expression", "path": "data/mirna.csv", "log_scale": "true"},
            {"layer": "protein", "kind": "continuous", "path": "data/protein.csv"},
        ],
        "outcome: {column: subtype}\ninputs: {allow_missing_samples: true}\n"
        "evaluation: {test_column: split, test_value: test, repeats: 1}\n"
        "enrichment:\n  gene_sets: {hallmark: data/hallmark.gmt}\n"
        "  competitive: {enabled: false}\n  ora: {enabled: false}\n"
        # the design stage runs on real data in the cll and ubilength runs; one repeat of the outer CV and the
        # prerank alone keep the suite within its budget (the checks below read neither the second repeat nor
        # the competitive and over-representation tests)
        "design: {enabled: false}\n",
        pd.read_csv(d / "metadata.csv", dtype=str),
        {
            "data/mrna.csv": tmp / "mrna.csv",
            "data/mirna.csv": tmp / "mirna.csv",
            "data/protein.csv": d / "protein_train.csv",
            "data/hallmark.gmt": genesets / "msigdb_hallmark_h.all.v7.0.symbols.gmt",
        },
    )
    return _run(folder)


def test_breast_tcga_subtypes_with_an_external_test_set_lacking_a_layer(cohort):
    """Published (mixOmics DIABLO vignette): 10x10-fold CV balanced error rate 0.053, test set (mRNA +
    miRNA, no protein) 0.068, 65 of 70 correct. The best integration here must be as good within its
    interval, and the test set must be scored without its missing layer."""
    board = _board(cohort)
    best = board[board["kind"] == "integration"].iloc[0]
    assert best["balanced_error_rate_lo"] <= 0.053 and best["balanced_error_rate"] <= 0.10, best
    assert best["test_n_test"] == 70 and best["test_balanced_accuracy"] >= 0.90, best
    assert board.loc["single_protein", "test_n_test"] == 0  # no protein in the test set: not scored there
    assert (cohort / "report.html").stat().st_size > 0
    assert (cohort / "moflow.h5mu").stat().st_size > 0
    # the saved model's prediction sets at 90%: coverage measured inside the outer splits and on the 70 test
    # samples (measured here: 0.907 and 0.871, mean set size 0.94 and 0.90: some sets are empty)
    cov = io.read_table(cohort / "model" / "coverage.tsv").set_index(["scope", "group"])
    assert 0.85 <= cov.loc[("cv", "all"), "coverage"] <= 0.96 and cov.loc[("cv", "all"), "n"] == 150
    assert cov.loc[("external test", "all"), "n"] == 70 and cov.loc[("external test", "all"), "coverage"] >= 0.77


def _cll(base: Path) -> Path:
    d = require_dataset("cll_mofa")
    folder = _folder(
        base / "cll",
        [
            {"layer": "drugs", "kind": "continuous", "path": "data/drugs.csv", "gene_ids": "none"},
            {"layer": "mutations", "kind": "binary", "path": "data/mutations.csv", "gene_ids": "none"},
        ],
        "outcome: {type: survival, time: TTT_years, event: treatedAfter, time_unit: years, missing: exclude}\n"
        "inputs: {allow_missing_samples: true}\n",
        pd.read_csv(d / "metadata.csv", dtype=str),
        {"data/drugs.csv": d / "drugs.csv", "data/mutations.csv": d / "mutations.csv"},
    )
    return _run(folder)


def test_cll_time_to_treatment_with_samples_lacking_the_outcome_and_a_layer(cohort):
    """26 samples without a time to treatment are left out and listed, among them the 16 whose drug row is
    all NA (no drug screen; an empty row of a sample left out does not stop the run). Time to treatment is
    predictable in CLL (IGHV and trisomy 12 among the mutations, drug responses tracking IGHV): Harrell's C
    of the best strategy well above 0.5."""
    sheet = io.read_sheet(cohort / "inputs" / "samples.tsv")
    excluded = sheet.loc[sheet["sample_type"] == "excluded", "sample"]
    assert len(excluded) == 26
    drugs = io.read_matrix(cohort / "inputs" / "drugs.parquet")
    mutations = io.read_matrix(cohort / "inputs" / "mutations.parquet")
    assert len(mutations) == len(drugs) == 174
    assert not set(excluded) & (set(drugs.index) | set(mutations.index))
    board = _board(cohort)
    assert board.iloc[0]["harrell_c_lo"] > 0.55 and board.iloc[0]["harrell_c"] > 0.65, board.iloc[0]
    assert "26 sample(s) left out" in (cohort / "report.html").read_text()


def _mtbls79(base: Path) -> tuple[Path, Path]:
    d = require_dataset("mtbls79_dims_metabolomics")
    meta = pd.read_csv(d / "metadata.csv", dtype=str)
    meta["sample_type"] = meta["Class"].map(lambda c: "qc" if c == "QC" else "sample")
    meta["species"] = meta["species"].where(meta["sample_type"] == "sample", "")
    folder = _folder(
        base / "mtbls79",
        [
            {
                "layer": "metabolites",
                "kind": "metabolomics_intensity",
                "path": "data/peaks.csv",
                "batch_column": "Batch",
                "has_qc": "true",
                "log_scale": "false",
                "gene_ids": "none",
            },
        ],
        "outcome: {column: species}\nevaluation: {group_column: Class2}\ndesign: {enabled: false}\n",
        meta,
        {"data/peaks.csv": d / "peak_intensities_with_missing.csv"},
    )
    return folder, _run(folder)


def test_mtbls79_qc_batches_and_repeated_injections_of_one_animal(cohort):
    """Every animal's ~7 injections stay on one side of every split (a model must not meet the animal it
    is scored on); cow and sheep plasma separate (the pmp vignette's PCA shows them apart)."""
    folder, results = cohort
    meta = pd.read_csv(folder / "config" / "samples.tsv", sep="\t", dtype=str).set_index("sample")
    splits = io.read_table(results / "evaluate" / "splits.tsv")
    for name, s in splits.groupby("split"):
        animals = s.assign(a=meta.loc[s["sample"], "Class2"].to_numpy()).groupby("role")["a"].apply(set)
        assert not animals["train"] & animals["test"], name
    board = _board(results)
    assert board.iloc[0]["balanced_accuracy"] >= 0.9
    perm = io.read_table(results / "evaluate" / "permutation_test.tsv")
    assert perm.iloc[0]["unit"] == "subject"


def _ubilength(base: Path) -> Path:
    d = require_dataset("dep_ubilength")
    folder = _folder(
        base / "ubi",
        [
            {
                "layer": "protein",
                "kind": "proteomics_intensity",
                "path": "data/lfq.csv",
                "log_scale": "true",
                "gene_ids": "none",
            },
        ],
        "outcome: {column: condition}\nevaluation: {folds: 3}\n",
        pd.read_csv(d / "metadata.csv", dtype=str),
        {"data/lfq.csv": d / "protein_log2_LFQ_with_missing.csv"},
    )
    return _run(folder)


def test_ubilength_twelve_samples_four_conditions(cohort):
    """The smallest cohort there is: 3 replicates per condition. The run completes, its interval is wide
    (12 samples), and the four pulldowns are told apart better than chance (0.25)."""
    board = _board(cohort)
    best = best_strategy(board)  # the best that may be chosen (not a baseline or the tree reference)
    assert best["n_samples"] == 12 and best["balanced_accuracy_lo"] < best["balanced_accuracy"]
    assert best["balanced_accuracy"] > 0.5
    # 3 folds of 4 samples: a model without two of them has 4 samples, too few to fit; the coverage of the
    # prediction sets is not measured, and the run says why
    cov = io.read_table(cohort / "model" / "coverage.tsv")
    assert list(cov["n"]) == [0] and "cannot be fit" in cov["note"].iloc[0]
    decisions = io.read_table(cohort / "decisions.tsv")
    assert decisions["decision"].str.contains("not measured inside the outer splits").any()


_COHORTS = {
    "breast": _breast,
    "cll": _cll,
    "mtbls79": _mtbls79,
    "ubilength": _ubilength,
}  # longest first
_TESTS = {
    "breast": "test_breast_tcga_subtypes_with_an_external_test_set_lacking_a_layer",
    "cll": "test_cll_time_to_treatment_with_samples_lacking_the_outcome_and_a_layer",
    "mtbls79": "test_mtbls79_qc_batches_and_repeated_injections_of_one_animal",
    "ubilength": "test_ubilength_twelve_samples_four_conditions",
}


def workflow_jobs(items, tmp_path_factory) -> dict:
    """The runs of the cohorts whose tests ``items`` (this module's, selected) are."""
    chosen = {item.originalname for item in items}
    base = tmp_path_factory.mktemp("cohorts")
    return {name: (lambda build=build: build(base)) for name, build in _COHORTS.items() if _TESTS[name] in chosen}


@pytest.fixture(scope="module")
def cohort_runs(request, tmp_path_factory):
    """The runs of the cohorts whose tests this session selected: started when the session's collection
    ended, or else two at a time now (tests/side_by_side.py); an absent dataset skips its own test only."""
    early = started(__name__)
    if early is not None:
        return early
    items = [item for item in request.session.items if item.module is request.module]
    return side_by_side(workflow_jobs(items, tmp_path_factory))


@pytest.fixture
def cohort(request, cohort_runs):
    """The finished run of the cohort the requesting test is about (its name in ``_TESTS``)."""
    name = next(name for name, test in _TESTS.items() if test == request.node.originalname)
    return cohort_runs.get(name)
