"""End to end: Snakemake on a tiny simulated cohort, and bad inputs stopped in the input stage."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from side_by_side import side_by_side, started

from moflow import io
from moflow.demo import simulate_cohort

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

TINY = dict(n_samples=72, n_batches=3, n_genes=400, n_proteins=120, n_metabolites=60, seed=3)


def _snakemake(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    cmd = [exe, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


N_TEST = 12  # external test samples (the last IDs); the first 4 of them lack the protein layer


def make_project(root: Path, *, external_test: bool = True, **overrides) -> Path:
    """A working directory with the tiny cohort's files, sheets and config."""
    cohort = simulate_cohort(**TINY)
    test_ids = sorted(cohort.layers["rna"].index)[-N_TEST:]
    if external_test:
        cohort.sheet["split"] = ["test" if s in test_ids else "train" for s in cohort.sheet["sample"]]
        cohort.layers["protein"] = cohort.layers["protein"].drop(index=test_ids[:4])
    data = root / "data"
    paths = {
        "rna": data / "rna.tsv",
        "protein": data / "protein.csv",
        "metabolomics": data / "metab.parquet",
        "samples": root / "config" / "samples.tsv",
        "gene_sets": data / "sets.gmt",
        "factors": data / "truth" / "factors.tsv",
        "loadings": data / "truth" / "loadings.tsv",
        "gene_set_truth": data / "truth" / "gene_sets.tsv",
    }
    io.write_demo_cohort(cohort, {k: str(v) for k, v in paths.items()})
    omics = pd.DataFrame(
        [
            ["rna", "rnaseq_counts", "data/rna.tsv", "features_in_rows", "batch", "false", "false", "symbol"],
            [
                "protein",
                "proteomics_intensity",
                "data/protein.csv",
                "samples_in_rows",
                "batch",
                "false",
                "true",
                "symbol",
            ],
            [
                "metabolomics",
                "metabolomics_intensity",
                "data/metab.parquet",
                "samples_in_rows",
                "batch",
                "true",
                "false",
                "none",
            ],
        ],
        columns=["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"],
    )
    omics.to_csv(root / "config" / "omics.tsv", sep="\t", index=False)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(
        {
            "evaluation": {
                "folds": 3,
                "repeats": 1,
                "permutations": 200,
                **({"test_column": "split", "test_value": "test"} if external_test else {}),
            },
            "integration": {**config["integration"], "mofa": {**config["integration"]["mofa"], "factors": 5}},
            "enrichment": {**config["enrichment"], "gene_sets": {"demo": "data/sets.gmt"}, "permutations": 200},
        }
    )
    config.update(overrides)
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def workflow_jobs(items, tmp_path_factory) -> dict:
    """The module's run, where a test of ``items`` (this module's, selected) reads it (the same tables from a
    rerun in another folder: test_scenario_as_a_snakemake_module in tests/e2e/test_scenarios.py)."""
    if not any({"finished_run", "runs"} & set(getattr(item, "fixturenames", ())) for item in items):
        return {}
    return _jobs(tmp_path_factory)


def _jobs(tmp_path_factory) -> dict:
    first = make_project(tmp_path_factory.mktemp("e2e"))
    return {"first": lambda: (first, _snakemake(first))}


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """The module's run: started when the session's collection ended, or else now (tests/side_by_side.py)."""
    early = started(__name__)
    if early is not None:
        return early
    return side_by_side(_jobs(tmp_path_factory))


@pytest.fixture(scope="module")
def finished_run(runs):
    root, res = runs.get("first")
    assert res.returncode == 0, res.stderr[-5000:]
    (root / "console.txt").write_text(res.stdout + res.stderr)  # what the user saw (read by the tests)
    return root


def test_run_writes_every_stage(finished_run):
    r = finished_run / "results"
    for layer in ("rna", "protein", "metabolomics"):
        assert (r / "inputs" / f"{layer}.parquet").exists()
        assert (r / "preprocess" / f"{layer}.parquet").exists()
    html = (r / "report.html").read_text()
    for section in (
        "Preprocessing",
        "Intermediate integration (MOFA)",
        "Evaluation",
        "Pathway enrichment",
        "Outcome-related MOFA factor",
    ):
        assert section in html
    assert (r / "integrate" / "mofa" / "model.hdf5").stat().st_size > 0
    assert (r / "provenance.json").exists()
    # the design stage: its tables, figures and the report's section with the verdict sentence
    for name in (
        "power.tsv",
        "joint_design.tsv",
        "learning_points.tsv",
        "learning_curve.tsv",
        "sample_size.tsv",
        "power.png",
        "learning_curve.png",
    ):
        assert (r / "design" / name).stat().st_size > 0, name
    assert "How many samples?" in html and "With this cohort as a pilot" in html
    points = io.read_table(r / "design" / "learning_points.tsv")
    assert sorted(points["fraction"].unique()) == [0.4, 0.7, 1.0]
    assert set(points["split"]) == {"r1f1", "r1f2", "r1f3"}


@pytest.mark.parametrize("splits_per_job", [5, 1])
def test_jobs_of_a_run(tmp_path, splits_per_job):
    """A run is a handful of jobs: the stages that take seconds run in one job each (fit_cohort, report);
    the CV in jobs of `evaluation: splits_per_job` splits, or, where every split fits in one job (the tiny
    cohort's 3 folds and the external test), inside fit_cohort; every old per-step rule is gone."""
    evaluation = {"folds": 3, "repeats": 1, "permutations": 200, "test_column": "split", "test_value": "test"}
    root = make_project(tmp_path, evaluation={**evaluation, "splits_per_job": splits_per_job})
    res = _snakemake(root, "-n", "--forceall")
    assert res.returncode == 0, res.stderr[-3000:]
    counts = {k: int(v) for k, v in re.findall(r"^(\w+)\s+(\d+)$", res.stdout + res.stderr, flags=re.M)}
    cv_jobs = 0 if splits_per_job == 5 else 4  # r1f1-r1f3 and final
    expected = {"validate_inputs": 1, "fit_cohort": 1, "report": 1, "all": 1}
    expected |= {"cv_fold": cv_jobs} if cv_jobs else {}
    assert counts == expected | {"total": sum(expected.values())}, counts


def test_report_opens_in_a_browser(finished_run, tmp_path):
    """The run's report.html in headless Chromium (tests/unit/report_browser.py: no JavaScript error, no
    broken image, nothing fetched, tables that sort, samples that light up on hover; screenshots in
    tmp_path), with a verdict whose numbers are the run's tables."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("report_browser", REPO / "tests" / "unit" / "report_browser.py")
    browser = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(browser)
    seen = browser.open_report(finished_run / "results" / "report.html", tmp_path, name="workflow")
    browser.assert_clean(seen)
    assert seen["n_images"] > 0
    r = finished_run / "results" / "evaluate"
    best = io.read_table(r / "scoreboard.tsv").iloc[0]
    comp = io.read_table(r / "comparison.tsv").iloc[0]
    gains = io.read_table(r / "gains.tsv")
    text = seen["verdict_text"]
    # the first sentence: what the strategies add over the naive baseline (the cohort names no covariates)
    naive = io.read_table(r / "scoreboard.tsv").set_index("strategy").loc["naive", "balanced_accuracy"]
    assert text.startswith(f"Over a naive model that scores chance (naive: balanced accuracy {naive:.3f}), ")
    g = gains[(gains["baseline"] == "naive") & (gains["kind"] != "reference")]
    assert any(f"{row.strategy}, {row.gain:+.3f}" in text for row in g.itertuples()), text
    assert f"{best['strategy']} predicts best (balanced accuracy {best['balanced_accuracy']:.3f}" in text
    assert f"{comp['difference']:+.3f}" in text and f"p = {comp['p']:.2g}" in text
    assert f"effective sample size {int(best['smallest_class'])} samples in the smallest class" in text


def test_scoreboard_has_every_strategy_on_identical_splits(finished_run):
    board = io.read_table(finished_run / "results" / "evaluate" / "scoreboard.tsv")
    assert set(board["strategy"]) == {
        "single_rna",
        "single_protein",
        "single_metabolomics",
        "early",
        "mixed",
        "late",
        "mofa",
        "hierarchical",
        "naive",
        "trees",
    }
    kinds = board.set_index("strategy")["kind"]
    assert kinds["naive"] == "baseline" and kinds["trees"] == "reference"
    assert board.set_index("strategy").loc["naive", "roc_auc"] == 0.5  # chance, on the same splits
    folds = io.read_table(finished_run / "results" / "evaluate" / "fold_scores.tsv")
    assert folds.groupby("strategy")["split"].apply(frozenset).nunique() == 1
    pred = io.read_table(finished_run / "results" / "evaluate" / "predictions.tsv")
    # every cohort sample is held out exactly once per repeat, for every strategy
    pred = pred[pred["split"] != "final"]
    assert (pred.groupby(["strategy", "sample"]).size() == 1).all()
    best = board.set_index("strategy")
    assert best.loc["early", "roc_auc"] > 0.75
    assert ((board["roc_auc_lo"] <= board["roc_auc"]) & (board["roc_auc"] <= board["roc_auc_hi"])).all()


def test_external_test_set_is_scored_once_and_never_trained_on(finished_run):
    r = finished_run / "results" / "evaluate"
    splits = io.read_table(r / "splits.tsv")
    sheet = io.read_table(finished_run / "config" / "samples.tsv")
    test = set(sheet.loc[sheet["split"] == "test", "sample"])
    assert len(test) == N_TEST
    cv = splits[splits["split"] != "final"]
    assert not test & set(cv["sample"])
    final = splits[splits["split"] == "final"]
    assert set(final.loc[final["role"] == "test", "sample"]) == test
    board = io.read_table(r / "scoreboard.tsv").set_index("strategy")
    assert (board["test_n_test"].drop(index="single_protein") == N_TEST).all()
    assert board.loc["single_protein", "test_n_test"] == N_TEST - 4  # 4 test samples lack protein
    assert board.loc["early", "test_roc_auc"] > 0.7
    comp = io.read_table(r / "comparison.tsv")
    assert comp.loc[0, "best_single_layer"].startswith("single_")
    perm = io.read_table(r / "permutation_test.tsv")
    # the best strategy that may be chosen (the baselines and the tree reference may not)
    chosen = board[~board["kind"].isin(["baseline", "reference"])].index[0]
    assert perm.loc[0, "strategy"] == chosen and 0 < perm.loc[0, "p"] <= 1


def test_outcome_factor_and_its_gene_set_on_top(finished_run):
    assoc = io.read_table(finished_run / "results" / "integrate" / "mofa" / "associations.tsv")
    top = assoc[assoc["covariate"] == "outcome"].sort_values("p").iloc[0]
    assert top["p_adj"] < 1e-3
    enr = io.read_table(finished_run / "results" / "enrich" / "mofa_prerank.tsv")
    first = enr[(enr["factor"] == top["factor"]) & (enr["layer"] == "rna") & (enr["rank"] == 1)]
    assert first["term"].tolist() == ["PLANTED_F1_OUTCOME_RESPONSE"]


def test_mudata_export_holds_the_tables(finished_run):
    """results/moflow.h5mu opened with mudata: the preprocessed layers, the MOFA factors (obsm) and
    weights (varm), the held-out predictions (obs: mean over the CV repeats; external test samples the
    final models' prediction), the sheet, and the config and provenance (uns), all equal to the tables."""
    import json

    import numpy as np

    mudata = pytest.importorskip("mudata")
    r = finished_run / "results"
    md = mudata.read_h5mu(r / "moflow.h5mu")
    assert list(md.mod) == ["rna", "protein", "metabolomics"]
    factors = io.read_table(r / "integrate" / "mofa" / "factors.tsv").set_index("sample")
    weights = io.read_table(r / "integrate" / "mofa" / "weights.tsv")
    for layer, ad in md.mod.items():
        X = io.read_matrix(r / "preprocess" / f"{layer}.parquet")
        assert ad.shape == X.shape
        assert np.array_equal(ad.to_df().to_numpy(), X.loc[ad.obs_names, ad.var_names].to_numpy(), equal_nan=True)
        w = weights[weights["view"] == layer].pivot(index="feature", columns="factor", values="weight")
        assert np.array_equal(ad.varm["LFs"], w.loc[ad.var_names, list(factors.columns)].to_numpy())
    assert md.n_obs == len(set().union(*(set(ad.obs_names) for ad in md.mod.values())))
    assert list(md.uns["mofa"]["factors"]) == list(factors.columns)
    assert np.array_equal(md.obsm["X_mofa"], factors.reindex(md.obs_names).to_numpy(), equal_nan=True)
    sheet = io.read_sheet(r / "inputs" / "samples.tsv").set_index("sample")
    assert (md.obs["outcome"] == sheet.loc[md.obs_names, "outcome"]).all()
    pred = io.read_table(r / "evaluate" / "predictions.tsv")
    cv = pred[pred["split"] != "final"].groupby(["strategy", "sample"])["p_case"].mean()
    final = pred[pred["split"] == "final"].set_index(["strategy", "sample"])["p_case"]
    assert set(md.obs.loc[md.obs["oof_source"] == "external_test"].index) == set(final.index.get_level_values(1))
    for strategy in pred["strategy"].unique():
        got = md.obs[f"oof_{strategy}_p_case"]
        want = pd.concat([cv[strategy], final[strategy]]).reindex(md.obs_names)
        assert np.allclose(got.to_numpy(float), want.to_numpy(float), equal_nan=True, rtol=0, atol=1e-12), strategy
    assert (md.obs.loc[md.obs["oof_source"] == "cv", "oof_repeats"] == 1).all()  # repeats: 1 in this config
    config = json.loads(md.uns["moflow"]["config"])
    assert config["evaluation"]["folds"] == 3 and config["outcome"]["column"] == "outcome"
    prov = json.loads(md.uns["moflow"]["provenance"])
    assert "config/samples.tsv" in prov["inputs"] and prov["versions"]["mudata"] == mudata.__version__
    assert md.uns["predictions"].shape == pred.shape


def test_mofa_model_opens_in_mofax(finished_run):
    """results/integrate/mofa/model.hdf5 read by mofax, as a MOFA user would: its views, and factors equal
    to factors.tsv's, name by name, for every training sample (mofapy2 would sort them by variance explained
    when it saves; moflow keeps its own order so that Factor2 is Factor2 everywhere)."""
    import numpy as np

    mofax = pytest.importorskip("mofax")
    m = mofax.mofa_model(str(finished_run / "results" / "integrate" / "mofa" / "model.hdf5"))
    try:
        assert [str(v) for v in m.views] == ["rna", "protein", "metabolomics"]
        Z = m.get_factors(df=True)
        tsv = io.read_table(finished_run / "results" / "integrate" / "mofa" / "factors.tsv").set_index("sample")
        assert Z.shape[1] == tsv.shape[1] and set(Z.index.astype(str)) <= set(tsv.index)
        tsv = tsv.loc[Z.index.astype(str)]
        for col in Z.columns:
            hits = [c for c in tsv.columns if np.allclose(Z[col].to_numpy(), tsv[c].to_numpy(), atol=1e-5)]
            assert hits == [col], (col, hits)
        assert m.get_weights(df=True).shape[0] == sum(
            io.read_matrix(finished_run / "results" / "preprocess" / f"{layer}.parquet").shape[1]
            for layer in ("rna", "protein", "metabolomics")
        )
    finally:
        m.close()


def test_batch_correction_diagnostics(finished_run):
    d = io.read_table(finished_run / "results" / "preprocess" / "rna_diagnostics.tsv").set_index("stage")
    assert d.loc["before_batch_correction", "silhouette_batch"] > 0.3
    assert d.loc["after", "silhouette_batch"] < 0.1
    m = io.read_table(finished_run / "results" / "preprocess" / "metabolomics_diagnostics.tsv")
    assert (m["qc_median_rsd_after_drift"] < m["qc_median_rsd_before_drift"] / 2).all()


# ---------------------------------------------------------------------------------------------
# bad input: the run stops in the input stage, names the file and the culprit, writes nothing
# ---------------------------------------------------------------------------------------------


def _break_matrix_csv(root: Path, fn):
    p = root / "data" / "protein.csv"
    df = pd.read_csv(p, dtype=str, keep_default_na=False, index_col=0)
    fn(df).to_csv(p)


def _misspell_positive_class(root: Path):
    p = root / "config" / "config.yaml"
    config = yaml.safe_load(p.read_text())
    config["outcome"]["positive"] = "cases"
    p.write_text(yaml.safe_dump(config, sort_keys=False))


def _set_row0(df, col, value):
    df = df.copy()
    df.loc[df.index[0], col] = value
    return df


# Each stage's checks once end to end (start-up, input stage); every case of the battery, more than 100,
# runs the same checking functions in tests/unit/test_bad_inputs.py.
BAD = {
    "misspelt positive class": (_misspell_positive_class, ["'outcome: positive' is 'cases'", "samples.tsv", "'case'"]),
    "config typo": (
        lambda r: _edit_text(r / "config" / "config.yaml", lambda t: t.replace("\nintegration:", "\nintegraton:")),
        ["Invalid config: config/config.yaml: unknown key 'integraton' (did you mean 'integration'?)"],
    ),
    "invalid YAML": (
        lambda r: _edit_text(
            r / "config" / "config.yaml", lambda t: t.replace("  column: outcome", "  column: [outcome")
        ),
        ["config/config.yaml, line", "invalid YAML"],
    ),
    "unknown kind in the omics sheet": (
        lambda r: _edit_text(r / "config" / "omics.tsv", lambda t: t.replace("\trnaseq_counts\t", "\trnaseq_count\t")),
        ["config/omics.tsv, row 2 (layer 'rna'): kind 'rnaseq_count'", "Did you mean 'rnaseq_counts'?"],
    ),
    "ragged matrix row": (
        lambda r: _edit_text(r / "data" / "protein.csv", lambda t: t.replace("\nS0003,", "\nS0003,1.0,", 1)),
        ["data/protein.csv, line 4", "more fields than the header"],
    ),
    "Excel-mangled gene symbol": (
        lambda r: _edit_text(
            r / "data" / "rna.tsv", lambda t: t.replace(t.splitlines()[3].split("\t")[0] + "\t", "1-Mar\t", 1)
        ),
        ["data/rna.tsv", "'1-Mar'", "Excel"],
    ),
    "gene sets sharing no gene": (
        lambda r: (r / "data" / "sets.gmt").write_text(
            "SET_A\tna\t" + "\t".join(f"ENSG{i:05d}" for i in range(30)) + "\n"
        ),
        ["data/sets.gmt: no gene of this file is a feature of layer 'rna'", "ENSG00000"],
    ),
}


def _edit_text(path: Path, fn):
    path.write_text(fn(path.read_text()))


def _edit_config(root: Path, **changes):
    p = root / "config" / "config.yaml"
    config = yaml.safe_load(p.read_text())
    config.update(changes)
    p.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_stops_early(tmp_path, case):
    root = make_project(tmp_path)
    breaker, expected = BAD[case]
    breaker(root)
    res = _snakemake(root)
    assert res.returncode != 0
    text = res.stdout + res.stderr
    for token in expected:
        assert token in text, f"{token!r} not in output:\n{text[-3000:]}"
    assert not (root / "results" / "preprocess").exists()
    assert not list((root / "results" / "inputs").glob("*.parquet")) if (root / "results" / "inputs").exists() else True


def test_negative_count_stops_early(tmp_path):
    root = make_project(tmp_path)
    p = root / "data" / "rna.tsv"
    df = pd.read_csv(p, sep="\t", index_col=0)
    df.iloc[5, 7] = -3
    df.to_csv(p, sep="\t")
    res = _snakemake(root)
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "negative count" in text and "rna.tsv" in text and df.columns[7] in text
    assert not (root / "results" / "preprocess").exists()


def test_input_error_is_the_first_line_of_the_job(tmp_path):
    """A bad matrix: the job prints `Error: <message>` first on stderr, no traceback, and its log has it."""
    root = make_project(tmp_path)
    _break_matrix_csv(root, lambda d: _set_row0(d, d.columns[2], "n.d."))
    res = _snakemake(root)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("Error: ")]
    assert lines and lines[0].startswith("Error: data/protein.csv: non-numeric value 'n.d.'"), res.stderr[-3000:]
    assert "Traceback" not in res.stderr.split(lines[0])[0]
    assert "DataError" not in res.stderr and "Traceback (most recent call last)" not in res.stderr
    log = (root / "logs" / "inputs" / "validate_inputs.log").read_text()
    assert "Error: data/protein.csv: non-numeric value 'n.d.'" in log and "Traceback" not in log


def test_the_end_of_a_run_says_what_it_decided(finished_run, tmp_path):
    """The end of a run prints what it decided about the data (results/decisions.tsv, from the tables the
    run wrote), the report shows the same list right after the verdict, and a run that did not write the
    file prints nothing of it."""
    import re

    from moflow.report import decision_lines

    root = tmp_path / "again"
    shutil.copytree(finished_run, root, symlinks=True)  # modification times kept: nothing else is stale
    decided = io.read_table(finished_run / "results" / "decisions.tsv")
    rows = decided.fillna("").values.tolist()
    # the tiny cohort: 4 external test samples lack the protein layer; protein's filter and imputation
    assert ["inputs", "protein", "4 of 72 sample(s) have no data in this layer"] in [r[:3] for r in rows]
    scores = io.read_table(finished_run / "results" / "preprocess" / "protein_imputation.tsv")
    best = scores[scores["chosen"]].iloc[0]
    said = decided["decision"].tolist()
    assert f"imputed missing values with {best['method']}, masked-value NRMSE {best['nrmse']:.3f}" in said
    steps = io.read_table(finished_run / "results" / "preprocess" / "protein_steps.tsv").set_index("step")
    n_in, n_out = steps.loc["filter", "features_in"], steps.loc["filter", "features_out"]
    assert (n_in > n_out) == (f"removed {n_in - n_out} of {n_in} features, {n_out} kept" in said)
    html = (finished_run / "results" / "report.html").read_text()
    assert re.findall(r"<h2>(.*?)</h2>", html)[:2] == ["Verdict", "What the run decided"]
    # the console of the run that wrote it: the same list
    console = (finished_run / "console.txt").read_text()
    lines = decision_lines(decided)
    assert len(lines) == 1 + len(decided)
    for line in lines:
        assert line in console, console[-3000:]
    # a run that rewrites something else: not an old list presented as this run's
    res = _snakemake(root, "--forcerun", "validate_inputs", "--until", "validate_inputs")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "validate_inputs" in res.stdout + res.stderr and lines[0] not in res.stdout + res.stderr
