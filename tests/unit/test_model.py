"""The model bundle and scoring new samples (moflow.model): the chosen strategy refit as the evaluation's split
``final`` refits it, saved with a manifest that refuses a changed file or another version, and new samples
scored from files of their own to the split ``final``'s predictions (1e-9), with real-world new data
(features in another order, extra, missing; a missing layer; an unseen batch; colliding IDs) handled and
said, and bad input named with the fix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import Project

from moflow import io
from moflow.errors import InputError
from moflow.evaluate.ranking import kind_of
from moflow.model import load_bundle
from moflow.tasks import cv_fold, cv_splits, fit_model, predict_samples

N_TRAIN, N_TEST = 90, 16


def _cohort(project: Project, *, task: str = "classification", seed: int = 0) -> Project:
    """Two layers: 'expr' (30 features, batch-corrected by 'batch', b1/b2 with a planted shift) and 'prot'
    (12); the outcome follows a factor on 6 expr and 3 prot features, and 'age'; the last 16 samples are
    the external test set."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    samples = [f"S{i:03d}" for i in range(n)]
    z = rng.normal(size=n)
    age = np.round(rng.normal(60, 8, n), 1)
    batch = np.where(np.arange(n) % 2 == 0, "b1", "b2")
    expr = rng.normal(size=(n, 30))
    expr[:, :6] += 1.0 * z[:, None]
    expr[batch == "b2"] += 1.5
    prot = rng.normal(size=(n, 12))
    prot[:, :3] += 0.8 * z[:, None]
    lp = z + 0.05 * (age - 60)
    sheet = {
        "sample": samples,
        "batch": batch,
        "age": age.astype(str),
        "split": ["train"] * N_TRAIN + ["test"] * N_TEST,
    }
    if task == "classification":
        sheet["outcome"] = np.where(lp + 0.5 * rng.normal(size=n) > 0, "case", "control")
        project.config = {"outcome": {"column": "outcome", "positive": "case"}}
    else:
        t = rng.exponential(np.exp(-lp))
        sheet["time"] = np.round(t, 4).astype(str)
        sheet["event"] = (rng.random(n) < 0.8).astype(int).astype(str)
        project.config = {"outcome": {"type": "survival", "time": "time", "event": "event"}}
    project.sheet = pd.DataFrame(sheet)
    project.continuous_layers(samples, {"expr": (expr, "e", "batch"), "prot": (prot, "p", "")})
    project.config |= {
        "samples": "config/samples.tsv",
        "omics": "config/omics.tsv",
        "clinical": {"columns": ["age"]},
        "evaluation": {
            "folds": 3,
            "repeats": 1,
            "strategies": ["early", "late"],
            "baselines": ["naive"],
            "recalibration": ["platt"] if task == "classification" else [],
            "test_column": "split",
            "test_value": "test",
        },
        "design": {"enabled": False},
    }
    return project


class Run:
    """A cohort's split ``final`` (cv_fold) and what a bundle needs, through the workflow's own tasks."""

    def __init__(self, project: Project):
        self.project = project
        self.settings, _, _ = project.startup()
        _, _, self.matrices, _ = project.inputs()
        self.samples = io.read_sheet(project.path("config/samples.tsv"))
        self.omics = io.read_sheet(project.path("config/omics.tsv"))
        splits = cv_splits(self.samples, self.omics, self.settings)["splits"]
        self.splits = splits
        names = list(dict.fromkeys(splits["split"]))
        self.predictions = cv_fold(self.matrices, splits, names, self.samples, self.omics, self.settings)["predictions"]
        self.final = self.predictions[self.predictions["split"] == "final"].reset_index(drop=True)
        names = list(dict.fromkeys(self.final["strategy"]))
        self.board = pd.DataFrame({"strategy": names, "kind": [kind_of(s) for s in names]})

    def bundle(self, strategy: str) -> dict:
        settings = self.settings
        from dataclasses import replace

        settings = replace(settings, predictor=replace(settings.predictor, strategy=strategy))
        return fit_model(self.matrices, self.board, self.predictions, self.samples, self.omics, settings)

    def new_folder(self, root, *, drop_features=(), extra=True, shuffle=True, sheet_edit=None, layers=("expr", "prot")):
        """The external test samples' files in a folder of their own: no outcome, features shuffled, one extra."""
        root.mkdir(parents=True, exist_ok=True)
        test = [f"S{i:03d}" for i in range(N_TRAIN, N_TRAIN + N_TEST)]
        sheet = self.samples[self.samples["sample"].isin(test)][["sample", "batch", "age"]]
        if sheet_edit is not None:
            sheet = sheet_edit(sheet)
        sheet.to_csv(root / "samples.tsv", sep="\t", index=False)
        rows = []
        for layer in layers:
            X = io.read_raw_table(str(self.project.path(f"data/{layer}.csv")), layer=layer)
            X = X.loc[[s for s in X.index if s in set(test)]]
            X = X.drop(columns=[c for c in drop_features if c in X.columns])
            if shuffle:
                X = X[list(X.columns[::-1])]
            if extra:
                X["not_a_model_feature"] = "1.0"
            X.rename_axis("sample").to_csv(root / f"{layer}.csv")
            rows.append({"layer": layer, "path": str(root / f"{layer}.csv")})
        pd.DataFrame(rows).to_csv(root / "omics.tsv", sep="\t", index=False)
        return root

    def predict(self, out: dict, root, **kw) -> dict:
        omics = io.read_sheet(root / "omics.tsv")
        paths = dict(zip(omics["layer"], omics["path"], strict=True))
        return predict_samples(
            out["bundle"],
            out["manifest"],
            io.read_sheet(root / "samples.tsv"),
            omics,
            io.LazyTables(paths),
            bundle_path="bundle.pkl",
            samples_path=str(root / "samples.tsv"),
            omics_path=str(root / "omics.tsv"),
            **kw,
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return Run(_cohort(Project(tmp_path_factory.mktemp("model"))))


@pytest.mark.parametrize("strategy", ["early", "late", "single_expr", "early+clinical", "late+clinical", "early+platt"])
def test_new_samples_from_their_own_files_get_the_final_split_predictions(run, strategy, tmp_path):
    out = run.bundle(strategy)
    assert out["manifest"]["strategy"] == strategy and out["manifest"]["chosen_by"] == "named in config"
    res = run.predict(out, run.new_folder(tmp_path))
    pred = res["predictions"].set_index("sample")
    want = run.final[run.final["strategy"] == strategy].set_index("sample")
    assert list(pred.index) == list(want.index)
    np.testing.assert_allclose(pred["p_case"], want["p_case"], rtol=0, atol=1e-9)
    assert (pred["predicted"] == np.where(want["p_case"] > want["p_control"], "case", "control")).all()
    layers = res["layers"].set_index("layer")
    assert layers.loc["expr", "extra"] == 1 and layers.loc["expr", "filled"] == 0
    assert (pred["notes"] == "").all()
    # the prediction sets: the bundle's thresholds on the split final's predictions, as the run reports them
    from moflow.model import external_coverage

    bundle = load_bundle(out["bundle"], out["manifest"])
    sets = external_coverage(bundle.conformal, run.predictions, strategy).set_index("sample")
    assert list(pred["prediction_set"]) == list(sets.loc[pred.index, "prediction_set"])
    assert (pred["set_size"] == pred["prediction_set"].map(lambda s: len(s.split("|")) if s else 0)).all()


def test_the_best_strategy_is_saved_by_default(run):
    board = run.board.iloc[::-1].reset_index(drop=True)  # best first: the last strategy of the fold loop
    out = fit_model(run.matrices, board, run.predictions, run.samples, run.omics, run.settings)
    first = next(s for s, k in zip(board["strategy"], board["kind"], strict=True) if k not in ("baseline", "reference"))
    assert out["manifest"]["strategy"] == first and out["manifest"]["chosen_by"] == "best in nested CV"


def test_a_strategy_the_run_did_not_score_is_refused_with_the_choices(run):
    with pytest.raises(InputError, match="'mofa' is not a strategy this run scored; name one of .*early"):
        run.bundle("mofa")


def test_a_changed_bundle_another_version_or_format_is_refused_in_one_line(run):
    out = run.bundle("early")
    payload, manifest = out["bundle"], out["manifest"]
    assert load_bundle(payload, manifest).strategy == "early"
    changed = payload[:-10] + bytes(10)
    with pytest.raises(InputError, match="the file changed since it was written"):
        load_bundle(changed, manifest)
    other = json.loads(json.dumps(manifest))
    other["versions"]["moflow"] = "0.0.1"
    with pytest.raises(InputError, match="written by moflow 0.0.1, this is moflow"):
        load_bundle(payload, other)
    other = dict(manifest, format=99)
    with pytest.raises(InputError, match="bundle format 99"):
        load_bundle(payload, other)
    assert run.bundle("early")["manifest"]["sha256"] == manifest["sha256"]  # deterministic: a refit, the same bytes


def test_missing_features_are_filled_and_counted_and_a_layer_missing_too_many_is_left_out(run, tmp_path):
    out = run.bundle("late")
    few = run.predict(out, run.new_folder(tmp_path / "few", drop_features=["p11"]))
    layers = few["layers"].set_index("layer")
    assert layers.loc["prot", "filled"] == 1 and layers.loc["prot", "status"] == "used"
    # 4 of prot's 12 model features missing (33% > 20%): prot is treated as absent; late scores from expr
    many = run.predict(out, run.new_folder(tmp_path / "many", drop_features=["p8", "p9", "p10", "p11"]))
    layers = many["layers"].set_index("layer")
    assert layers.loc["prot", "status"].startswith("absent: 33% of its model features missing")
    pred = many["predictions"]
    assert (pred["layers_used"] == "expr").all() and pred["p_case"].notna().all()
    # with a higher threshold the same files use prot, its missing features filled
    more = run.predict(
        out, run.new_folder(tmp_path / "more", drop_features=["p8", "p9", "p10", "p11"]), max_missing=0.5
    )
    assert (more["predictions"]["layers_used"] == "expr,prot").all()


def test_a_sample_lacking_a_layer_is_scored_from_the_others_or_told_why_not(run, tmp_path):
    late = run.predict(run.bundle("late"), run.new_folder(tmp_path / "late", layers=("expr",)))
    assert late["predictions"]["p_case"].notna().all()
    assert late["layers"].set_index("layer").loc["prot", "status"] == "absent: no matrix"
    folder = run.new_folder(tmp_path / "single")
    X = pd.read_csv(folder / "prot.csv", dtype=str)
    X.iloc[3:].to_csv(folder / "prot.csv", index=False)  # the first 3 new samples lack prot
    pred = run.predict(run.bundle("single_prot"), folder)["predictions"]
    assert pred["p_case"].iloc[3:].notna().all() and pred["p_case"].iloc[:3].isna().all()
    assert pred["predicted"].iloc[:3].isna().all()
    assert pred["notes"].iloc[:3].str.contains("not scored: lacks prot and single_prot needs it").all()
    with pytest.raises(InputError, match="none of the new samples can be scored: the model \\(single_prot\\) uses"):
        run.predict(run.bundle("single_prot"), run.new_folder(tmp_path / "none", layers=("expr",)))


def test_an_unseen_batch_is_left_as_measured_and_said(run, tmp_path):
    def new_batch(sheet):
        return sheet.assign(batch=np.where(sheet["sample"].str[-1].astype(int) % 2 == 0, "b3", sheet["batch"]))

    res = run.predict(run.bundle("early"), run.new_folder(tmp_path, sheet_edit=new_batch))
    pred = res["predictions"]
    unseen = pred["sample"].str[-1].astype(int) % 2 == 0
    assert (
        pred.loc[unseen, "notes"].str.contains("expr: batch 'b3' not in training, batch step left it as measured").all()
    )
    assert (pred.loc[~unseen, "notes"] == "").all() and pred["p_case"].notna().all()


def test_ids_that_collide_with_training_ids_are_scored_and_said(run, tmp_path):
    res = run.predict(run.bundle("early"), run.new_folder(tmp_path))
    base = res["predictions"].set_index("sample")["p_case"]

    def rename(sheet):
        return sheet.assign(sample=sheet["sample"].str.replace("S1", "S0", n=1))  # S090... -> S0090? no: S1xx -> S0xx

    folder = run.new_folder(tmp_path / "c", sheet_edit=rename)
    for layer in ("expr", "prot"):
        X = pd.read_csv(folder / f"{layer}.csv", dtype=str)
        X["sample"] = X["sample"].str.replace("S1", "S0", n=1)
        X.to_csv(folder / f"{layer}.csv", index=False)
    res = run.predict(run.bundle("early"), folder)
    pred = res["predictions"]
    collide = pred["sample"].isin(run.samples["sample"].iloc[:N_TRAIN])
    assert collide.any()
    assert pred.loc[collide, "notes"].str.contains("ID also a training sample's").all()
    renamed = base.rename(lambda s: s.replace("S1", "S0", 1))
    np.testing.assert_allclose(pred.set_index("sample")["p_case"], renamed.loc[pred["sample"]], atol=1e-12)


def test_bad_new_data_is_named_with_the_fix(run, tmp_path):
    out = run.bundle("early")
    folder = run.new_folder(tmp_path)
    sheet = pd.read_csv(folder / "samples.tsv", sep="\t", dtype=str)
    pd.concat([sheet, pd.DataFrame([{"sample": "NEW1", "batch": "b1", "age": "50"}])]).to_csv(
        folder / "samples.tsv", sep="\t", index=False
    )
    with pytest.raises(InputError, match="names 1 sample\\(s\\) that no matrix holds \\(first: 'NEW1'\\)"):
        run.predict(out, folder)
    folder = run.new_folder(tmp_path / "nofeat")
    X = pd.read_csv(folder / "expr.csv", dtype=str)
    X.columns = ["sample"] + [f"ENSG{i}" for i in range(X.shape[1] - 1)]
    X.to_csv(folder / "expr.csv", index=False)
    with pytest.raises(InputError, match="none of the model's 30 'expr' features is in this matrix"):
        run.predict(out, folder)
    folder = run.new_folder(tmp_path / "nobatch", sheet_edit=lambda s: s.drop(columns="batch"))
    with pytest.raises(InputError, match="no column 'batch': the model corrects layer 'expr'"):
        run.predict(out, folder)
    folder = run.new_folder(tmp_path / "noage", sheet_edit=lambda s: s.drop(columns="age"))
    with pytest.raises(InputError, match="no column 'age': the model \\(early\\+clinical\\) uses the clinical"):
        run.predict(run.bundle("early+clinical"), folder)


def test_survival_new_samples_get_the_final_split_risks_groups_and_survival(tmp_path_factory, tmp_path):
    run = Run(_cohort(Project(tmp_path_factory.mktemp("surv")), task="survival"))
    for strategy in ("early", "late+clinical"):
        res = run.predict(run.bundle(strategy), run.new_folder(tmp_path / strategy))
        pred = res["predictions"].set_index("sample")
        want = run.final[run.final["strategy"] == strategy].set_index("sample")
        np.testing.assert_allclose(pred["risk"], want["risk"], rtol=0, atol=1e-9)
        assert (pred["risk_group"] == want["risk_group"]).all()
        S = [c for c in want.columns if c.startswith("S@")]
        assert S
        np.testing.assert_allclose(pred[S].to_numpy(float), want[S].to_numpy(float), rtol=0, atol=1e-9)
