"""The scenario matrix: cohorts that do not look like the demo (outcome coding and type, layer
count, ID style, external test set, batch confounded with the outcome), each run end to end from a
folder of its own with the documented command (`snakemake -s <moflow>/Snakefile` inside the folder),
one of them through a Snakemake `module` as snakedeploy deploys it. The runs go two at a time
(tests/side_by_side.py), in the fixture of the first test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scenarios import BY_NAME, SCENARIOS, make_scenario
from side_by_side import side_by_side, started

from moflow import io
from moflow.evaluate.ranking import best_strategy

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _snakemake(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    return subprocess.run([exe, "--cores", "2", *extra], cwd=folder, capture_output=True, text=True, timeout=900)


def _check_no_outcome(folder: Path, sc) -> None:
    """No outcome: no evaluation, model or design; the planted groups found as subtypes, the two layers
    that carry them named, and said in the report, the decisions and the MuData file."""
    from sklearn.metrics import adjusted_rand_score

    r = folder / "results"
    html = (r / "report.html").read_text()
    assert not (r / "evaluate").exists() and not (r / "model").exists() and not (r / "design").exists()
    assert "No outcome was configured" in html and "Subtypes" in html and "Evaluation" not in html
    truth = pd.read_csv(folder / "data" / "truth" / "groups.tsv", sep="\t", dtype={"sample": str})
    a = io.read_table(r / "subtypes" / "assignments.tsv").set_index("sample")
    ks = io.read_table(r / "subtypes" / "k_selection.tsv")
    assert int(io.read_table(r / "subtypes" / "summary.tsv")["k"].iloc[0]) == 3, ks.round(2).to_string()
    assert ks["chosen"].sum() == 1 and (ks["resamples"] == 8).all()
    assert adjusted_rand_score(truth["group"], a.loc[truth["sample"], "subtype"]) >= 0.8
    markers = io.read_table(r / "subtypes" / "markers.tsv")
    share = markers.assign(hit=markers["fdr"] < 0.05).groupby("layer")["hit"].mean()
    assert share.idxmin() == "metabolomics" and min(share["rna"], share["protein"]) > share["metabolomics"], share
    decided = io.read_table(r / "decisions.tsv")
    assert decided["decision"].str.startswith("no outcome").any()
    assert decided["decision"].str.contains("3 subtypes").any()
    # the layer without groups is named as carrying none of the subtypes
    quiet = decided[decided["decision"].str.startswith("no feature of this layer separates a subtype")]
    assert list(quiet["layer"]) == ["metabolomics"], decided.to_string()
    assert (r / "enrich" / "subtypes_prerank.tsv").exists()
    # the planted short follow-up of the first group: a log-rank difference and a curve per subtype
    assert io.read_table(r / "subtypes" / "survival.tsv")["p"].iloc[0] < 1e-3
    km = io.read_table(r / "subtypes" / "kaplan_meier.tsv")
    assert set(km["subtype"]) == {"S1", "S2", "S3"} and "Kaplan-Meier curve of each subtype" in html
    mudata = pytest.importorskip("mudata")
    out = mudata.read_h5mu(r / "moflow.h5mu")
    assert set(out.obs["subtype"].loc[list(a.index)]) == {"S1", "S2", "S3"}
    # new samples get their subtype from the saved classifier, from a folder of their own (`predict`)
    new = folder.parent / f"{folder.name}_new"
    (new / "config").mkdir(parents=True)
    sheet = pd.read_csv(folder / "config" / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    chosen = sheet[sheet["sample_type"] == "sample"].head(12)
    chosen.to_csv(new / "config" / "samples.tsv", sep="\t", index=False)
    omics = pd.read_csv(folder / "config" / "omics.tsv", sep="\t", dtype=str)
    omics.assign(path=[str(folder / p) for p in omics["path"]]).to_csv(
        new / "config" / "omics.tsv", sep="\t", index=False
    )
    res = _snakemake(
        new, "-s", str(REPO / "Snakefile"), "predict", "--config", f"model={r / 'subtypes' / 'bundle.pkl'}"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    pred = io.read_table(new / "results" / "predict" / "predictions.tsv").set_index("sample")
    assert (pred["predicted"] == a.loc[pred.index, "subtype"]).mean() >= 0.9
    assert np.allclose(pred[["p_S1", "p_S2", "p_S3"]].sum(axis=1), 1, atol=1e-4)


def _check(folder: Path, sc) -> None:
    if sc.outcome == "none":
        _check_no_outcome(folder, sc)
        return
    r = folder / "results"
    html = (r / "report.html").read_text()
    board = io.read_table(r / "evaluate" / "scoreboard.tsv")
    pred = io.read_table(r / "evaluate" / "predictions.tsv")
    sheet = (
        io.read_sheet(folder / "data" / "cohort.h5mu")
        if sc.h5mu
        else pd.read_csv(folder / "config" / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    )
    cohort = sheet.loc[sheet["sample_type"] == "sample", "sample"]
    # IDs are strings everywhere: every prediction names a sample of the sheet, as written there
    assert set(pred["sample"]) <= set(cohort), sorted(set(pred["sample"]) - set(cohort))[:5]
    assert set(io.read_table(r / "integrate" / "mofa" / "factors.tsv")["sample"]) <= set(cohort)
    strategies = set(board["strategy"])
    assert {f"single_{layer}" for layer in sc.layers} | {"mofa"} <= strategies
    if len(sc.layers) == 1:
        assert not strategies & {"early", "mixed", "late"}
        assert "Skipped: late, mixed and early integration combine layers" in html
    else:
        assert set(sc.config.get("evaluation", {}).get("strategies", ["early", "mixed", "late"])) <= strategies
    metric = {"continuous": "r2", "survival": "harrell_c"}.get(sc.outcome, "balanced_accuracy")
    assert metric in board.columns and board[metric].notna().all()
    if sc.outcome == "survival":  # the outcome as the user coded it (TRUE/false), read as events
        events = sheet.loc[sheet["sample_type"] == "sample", "dead"].str.lower() == "true"
        cv = pred[pred["split"] != "final"].drop_duplicates("sample").set_index("sample")
        assert (cv["event"] == events.set_axis(cohort).reindex(cv.index).astype(int)).all()
        assert {"n_events", "uno_c", "integrated_brier"} <= set(board.columns)
        assert "Kaplan-Meier curves" in html and "MOFA factors and survival" in html
        assoc = io.read_table(r / "integrate" / "mofa" / "associations.tsv")
        assert (assoc["test"] == "cox").sum() == assoc["factor"].nunique()
    if sc.external:
        assert (pred["split"] == "final").any() and f"test_{metric}" in board.columns
    # the planted signal is found (outcome driven by latent factor F1)
    best = best_strategy(board)  # the best that may be chosen (not a baseline or the tree reference)
    assert best[metric] > (0.3 if metric == "r2" else 0.6), board.to_string()
    if any(layer in ("rna", "protein") for layer in sc.layers):
        assert (r / "enrich" / "models_prerank.tsv").exists() and (r / "enrich" / "pathways.tsv").exists()
        assert {"p_brown", "fdr_brown"} <= set(io.read_table(r / "enrich" / "pathways.tsv").columns)
    wanted = sc.config.get("evaluation", {}).get("strategies")
    if any(layer in ("rna", "protein") for layer in sc.layers) and (wanted is None or "hierarchical" in wanted):
        # the hierarchical strategy (a gene layer and gene sets): scored, and its programs in the report
        assert "hierarchical" in strategies and "Hierarchical integration" in html
        coefs = io.read_table(r / "integrate" / "hierarchical" / "coefficients.tsv")
        if sc.regulators:  # the planted regulator leads the edge list's regulators
            tf = coefs[coefs["source"] == "tf"]
            assert tf.loc[tf["structure_r"].abs().idxmax(), "feature"] == "TF_PLANTED", tf
    elif wanted is not None and "hierarchical" not in wanted:
        assert "hierarchical" not in strategies
    assert "Evaluation" in html and "Intermediate integration (MOFA)" in html
    # the design stage on every shape of cohort: power per layer, learning curves, the report's section
    power = io.read_table(r / "design" / "power.tsv")
    assert set(power["layer"]) == set(sc.layers) and power["pi0"].between(0, 1).all()
    size = io.read_table(r / "design" / "sample_size.tsv")
    target_metric = {"continuous": "r2", "survival": "harrell_c"}.get(sc.outcome, "roc_auc")
    assert (size["metric"] == target_metric).all() and size["strategy"].iloc[-1] == "riley_minimum"
    assert size["status"].notna().all() and "How many samples?" in html
    if sc.incomplete:  # three samples without an outcome left out and listed; an all-NA row: a missing layer
        checked = io.read_sheet(r / "inputs" / "samples.tsv")
        excluded = set(checked.loc[checked["sample_type"] == "excluded", "sample"])
        assert len(excluded) == 3 and not excluded & set(pred["sample"]), excluded
        assert "3 sample(s) left out of the whole analysis" in html
        protein = io.read_matrix(r / "inputs" / "protein.parquet")
        assert len(protein) == len(io.read_matrix(r / "inputs" / "rna.parquet")) - 1
    if sc.subjects:  # no subject on both sides of a split; the permutation test moves whole subjects
        splits = io.read_table(r / "evaluate" / "splits.tsv")
        subj = sheet.set_index("sample")["subject"]
        for name, s in splits.groupby("split"):
            sides = s.assign(subject=subj.reindex(s["sample"]).to_numpy()).groupby("role")["subject"].apply(set)
            assert not sides["train"] & sides["test"], name
        assert io.read_table(r / "evaluate" / "permutation_test.tsv").iloc[0]["unit"] == "subject"
    if sc.config.get("subtypes", {}).get("enabled"):  # subtypes beside the outcome, related to it
        assoc = io.read_table(r / "subtypes" / "associations.tsv")
        k = int(io.read_table(r / "subtypes" / "summary.tsv")["k"].iloc[0])
        assert "Subtypes" in html and ("outcome" in set(assoc["column"]) if k > 1 else assoc.empty)
        assert (r / "subtypes" / "bundle.pkl").exists() and (r / "model" / "bundle.pkl").exists()
    if sc.h5mu:  # the cohort came as one .h5mu: the RNA features kept their IDs, mapped to genes by var 'symbol'
        assert io.read_matrix(r / "inputs" / "rna.parquet").columns[0].startswith("ENSG")
        prerank = io.read_table(r / "enrich" / "mofa_prerank.tsv")
        assert (prerank["layer"] == "rna").any()
        mudata = pytest.importorskip("mudata")
        out = mudata.read_h5mu(r / "moflow.h5mu")
        assert list(out.mod) == list(sc.layers) and out.n_obs == len(cohort)


MODULE = "as a snakemake module"
# the tables the module route (a rerun of SCENARIOS[0] in another folder) must write byte for byte as the plain run
RERUN_TARGETS = [
    "results/inputs/samples.tsv",
    "results/preprocess/protein_diagnostics.tsv",
    "results/integrate/mofa/weights.tsv",
    "results/evaluate/folds/part1.tsv",
    "results/evaluate/scoreboard.tsv",
    "results/evaluate/predictions.tsv",
    "results/model/model.tsv",
]
FIRST = "survival_two_layers_external"  # the longest run starts first; the others fill the second slot


def _run_scenario(root: Path, sc) -> tuple[Path, subprocess.CompletedProcess]:
    folder = make_scenario(root / sc.name, sc)
    return folder, _snakemake(folder, "-s", str(REPO / "Snakefile"))


def _run_deployed(root: Path) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """What `snakedeploy deploy-workflow <moflow> <folder>` writes (its own template, rendered here with
    the local checkout as the module's source instead of github(...): no network in tests), then a dry
    run of the whole DAG through the module and a run to the evaluation tables (which the report job writes)."""
    from jinja2 import Environment, PackageLoader

    folder = make_scenario(root / "deployed", SCENARIOS[0])
    template = Environment(loader=PackageLoader("snakedeploy")).get_template("use_module.smk.jinja")
    (folder / "workflow").mkdir()
    (folder / "workflow" / "Snakefile").write_text(
        template.render(name="moflow", snakefile=f'"{REPO / "Snakefile"}"', repo=str(REPO), config="config/config.yaml")
    )
    dry = _snakemake(folder, "-n")
    if dry.returncode != 0:
        return folder, dry, dry
    return folder, dry, _snakemake(folder, "results/evaluate/splits.tsv", "results/preprocess/rna.parquet")


def workflow_jobs(items, tmp_path_factory) -> dict:
    """The runs the selected tests ``items`` of this module need: their scenarios (and the deployed module),
    the longest first."""
    chosen = set()
    for item in items:
        if item.originalname == "test_scenario_runs_from_its_own_folder":
            chosen.add(item.callspec.params["sc"].name)
        elif item.originalname == "test_scenario_as_a_snakemake_module":
            chosen.update((MODULE, SCENARIOS[0].name))  # the plain run its tables are compared with
    root = tmp_path_factory.mktemp("scenarios")
    jobs = {}
    for name in sorted(chosen, key=lambda n: (n != FIRST, n != MODULE, n)):
        if name == MODULE:
            jobs[name] = lambda: _run_deployed(root)
        else:
            jobs[name] = lambda sc=BY_NAME[name]: _run_scenario(root, sc)
    return jobs


@pytest.fixture(scope="module")
def scenario_runs(request, tmp_path_factory):
    """Every scenario this session selected (and the deployed module): the runs started when the session's
    collection ended, or else two at a time now (tests/side_by_side.py)."""
    early = started(__name__)
    if early is not None:
        return early
    items = [item for item in request.session.items if item.module is request.module]
    return side_by_side(workflow_jobs(items, tmp_path_factory))


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_runs_from_its_own_folder(scenario_runs, sc):
    folder, res = scenario_runs.get(sc.name)
    assert res.returncode == 0, res.stderr[-6000:]
    _check(folder, sc)
    assert not (folder / "resources" / "demo").exists()  # nothing of the demo is simulated


def test_scenario_as_a_snakemake_module(scenario_runs):
    """What `snakedeploy deploy-workflow <moflow> <folder>` writes, run from the folder with no -s:
    workflow/Snakefile declaring moflow as a module (:func:`_run_deployed`). It runs the same project as
    the first scenario in another folder, so it is also the rerun: same config and seed, identical tables."""
    folder, dry, res = scenario_runs.get(MODULE)
    assert dry.returncode == 0, dry.stderr[-6000:]  # the whole DAG resolves through the module...
    assert "report" in dry.stdout and "fit_cohort" in dry.stdout  # the scenario's 2 splits: in fit_cohort
    # ...and its stages up to the report run (the full run is the scenario test above)
    assert res.returncode == 0, res.stderr[-6000:]
    splits = io.read_table(folder / "results" / "evaluate" / "splits.tsv")
    assert splits["sample"].str.fullmatch(r"\d{4}").all()  # IDs such as 0001 stay strings
    plain, first = scenario_runs.get(SCENARIOS[0].name)
    assert first.returncode == 0, first.stderr[-3000:]
    for rel in RERUN_TARGETS:
        assert (folder / rel).read_bytes() == (plain / rel).read_bytes(), rel


# classification with batch correction, and a continuous outcome with run-order drift (survival and every
# strategy kind: tests/unit/test_model.py)
PREDICTED = ["binary01_zeros_external", "continuous_two_layers_external"]


@pytest.mark.parametrize("sc", [BY_NAME[n] for n in PREDICTED], ids=PREDICTED)
def test_external_test_samples_scored_with_the_bundle_from_another_folder(scenario_runs, sc, tmp_path):
    """The run's model bundle scores its external test samples from a folder of their own (their sheet
    without the outcome, an omics sheet naming the matrices; `snakemake -s <moflow>/Snakefile predict
    --config model=...`): the split final's predictions of the saved strategy, to 1e-9."""
    folder, res = scenario_runs.get(sc.name)
    assert res.returncode == 0, res.stderr[-3000:]
    manifest = json.loads((folder / "results" / "model" / "bundle.json").read_text())
    pred = io.read_table(folder / "results" / "evaluate" / "predictions.tsv")
    final = pred[(pred["split"] == "final") & (pred["strategy"] == manifest["strategy"])].set_index("sample")
    config = yaml.safe_load((folder / "config" / "config.yaml").read_text())
    outcome = config.get("outcome", {})
    drop = [outcome.get(k) or d for k, d in (("column", "outcome"), ("time", ""), ("event", ""))]
    sheet = io.read_sheet(folder / "config" / "samples.tsv")
    new = sheet[sheet["sample"].isin(final.index)].drop(columns=[c for c in drop if c in sheet.columns])
    (tmp_path / "config").mkdir()
    new.to_csv(tmp_path / "config" / "samples.tsv", sep="\t", index=False)
    omics = io.read_sheet(folder / "config" / "omics.tsv")
    pd.DataFrame({"layer": omics["layer"], "path": [str(folder / p) for p in omics["path"]]}).to_csv(
        tmp_path / "config" / "omics.tsv", sep="\t", index=False
    )
    bundle = folder / "results" / "model" / "bundle.pkl"
    run = _snakemake(tmp_path, "-s", str(REPO / "Snakefile"), "predict", "--config", f"model={bundle}")
    assert run.returncode == 0, run.stderr[-3000:]
    got = io.read_table(tmp_path / "results" / "predict" / "predictions.tsv").set_index("sample")
    assert sorted(got.index) == sorted(final.index)
    cols = [c for c in final.columns if c.startswith(("p_", "S@")) or c in ("prediction", "risk")]
    assert cols
    np.testing.assert_allclose(
        got.loc[final.index, cols].to_numpy(float), final[cols].to_numpy(float), rtol=0, atol=1e-9
    )
    assert (tmp_path / "results" / "predict" / "predictions.html").exists()
    # the prediction sets or intervals: the training run's own for its external test samples, and the coverage
    # that run measured on the page
    checked = io.read_table(folder / "results" / "model" / "conformal.tsv")
    external = checked[checked["scope"] == "external test"].set_index("sample")
    assert sorted(external.index) == sorted(final.index)
    if "prediction_set" in external.columns:
        want = external["prediction_set"].fillna("").astype(str)
        assert got.loc[external.index, "prediction_set"].fillna("").astype(str).tolist() == want.tolist()
    else:
        iv = ["interval_lower", "interval_upper"]
        # (the tables keep 6 significant digits)
        np.testing.assert_allclose(got.loc[external.index, iv].to_numpy(float), external[iv].to_numpy(float), rtol=2e-5)
    assert "held the truth for" in (tmp_path / "results" / "predict" / "predictions.html").read_text()
