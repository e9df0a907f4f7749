"""MuData in and out: a cohort kept as one .h5mu file (or a layer as .h5ad) gives the cohort the TSV route
gives, and the run's results go back out as one MuData file that scverse tools open.

The bad-input battery's MuData cases are in tests/unit/test_bad_inputs.py (``h5mu: ...``)."""

from __future__ import annotations

import json

import anndata
import mudata
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from test_bad_inputs import Project, as_h5mu, h5ad_layer

from moflow import io
from moflow.enrich import build_gene_maps
from moflow.errors import DataError
from moflow.export import summarize_predictions, to_mudata
from moflow.inputs import anndata_frame, anndata_sources, check_omics_sheet, obs_to_sheet, var_to_annotation

mudata.set_options(pull_on_update=False)
pytestmark = pytest.mark.filterwarnings("ignore:var_names are not unique")


# ---------------------------------------------------------------------------------------------
# in: obs -> sample sheet, X -> matrix, var -> annotation
# ---------------------------------------------------------------------------------------------


def test_obs_becomes_a_sheet_of_strings_as_a_tsv_would_hold_them():
    obs = pd.DataFrame(
        {
            "outcome": pd.Categorical(["case", "control", None]),
            "injection_order": pd.array([3, None, 10], dtype="Int64"),
            "order_float": [1.0, np.nan, 12.0],  # integers pandas made float (a gap)
            "dose": [0.1, 2.5, np.nan],
            "responder": [True, False, True],
            "sample_type": ["sample", "sample", "qc"],
        },
        index=["0001", "0002", "QC1"],
    )
    sheet = obs_to_sheet(obs, path="x.h5mu")
    assert list(sheet.columns) == ["sample", *obs.columns]
    assert sheet["sample"].tolist() == ["0001", "0002", "QC1"]  # IDs stay strings (no 1)
    assert sheet["outcome"].tolist() == ["case", "control", ""]
    assert sheet["injection_order"].tolist() == ["3", "", "10"]
    assert sheet["order_float"].tolist() == ["1", "", "12"]
    assert sheet["dose"].tolist() == ["0.1", "2.5", ""]
    assert sheet["responder"].tolist() == ["true", "false", "true"]
    assert all(isinstance(v, str) for col in sheet for v in sheet[col])
    assert sheet.attrs["lines"] == [1, 2, 3]


def test_obs_sample_column_must_repeat_the_obs_names():
    obs = pd.DataFrame({"sample": ["S1", "S2"], "outcome": ["a", "b"]}, index=["S1", "S2"])
    assert list(obs_to_sheet(obs, path="x.h5mu").columns) == ["sample", "outcome"]
    obs["sample"] = ["S1", "donor7"]
    with pytest.raises(DataError, match=r"x\.h5mu: obs column 'sample' differs .*row 2: 'donor7' against 'S2'"):
        obs_to_sheet(obs, path="x.h5mu")


def test_anndata_matrix_dense_sparse_layers_and_booleans():
    X = np.array([[0.0, 2.0], [3.0, np.nan]])
    ad = anndata.AnnData(X=X, obs=pd.DataFrame(index=["s1", "s2"]), var=pd.DataFrame(index=["f1", "f2"]))
    ad.layers["counts"] = sparse.csr_matrix(np.array([[0, 5], [7, 0]]))
    ad.layers["mut"] = np.array([[True, False], [False, True]])
    pd.testing.assert_frame_equal(
        anndata_frame(ad, path="a"), pd.DataFrame(X, index=["s1", "s2"], columns=["f1", "f2"])
    )
    assert anndata_frame(ad, path="a", anndata_layer="counts").to_numpy().tolist() == [[0, 5], [7, 0]]
    assert anndata_frame(ad, path="a", anndata_layer="mut").to_numpy().tolist() == [[1, 0], [0, 1]]
    with pytest.raises(
        DataError,
        match=r"a: has no AnnData layer 'count' \(layers: 'counts', 'mut'\)\. Did you mean "
        r"'counts'\?",
    ):
        anndata_frame(ad, path="a", anndata_layer="count")


def test_h5mu_cohort_validates_to_the_same_cohort_as_the_tsv_files(tmp_path):
    """The tiny project of the bad-input battery, once as TSV/CSV/Parquet files and a sample sheet, once
    as one .h5mu (obs the sheet, injection order stored as integers): the same checked sheet, the same
    matrices to the bit, the same summary but for the path."""
    tsv = Project(tmp_path / "tsv")
    tsv.root.mkdir()
    sheet_t, omics_t, mats_t, summary_t = tsv.inputs()
    h5 = Project(tmp_path / "h5mu")
    h5.root.mkdir()
    as_h5mu(h5)
    sheet_h, omics_h, mats_h, summary_h = h5.inputs()
    pd.testing.assert_frame_equal(sheet_h, sheet_t)
    assert list(mats_h) == list(mats_t)
    for layer in mats_t:
        pd.testing.assert_frame_equal(mats_h[layer], mats_t[layer], check_exact=True)
    assert summary_h["path"].tolist() == [f"data/cohort.h5mu (modality '{m}')" for m in ("rna", "protein", "metab")]
    pd.testing.assert_frame_equal(summary_h.drop(columns="path"), summary_t.drop(columns="path"))
    assert omics_h["modality"].tolist() == ["rna", "protein", "metab"]  # empty: the layer's name


def test_h5ad_layer_and_modality_column(tmp_path):
    """A layer as an .h5ad next to text files; a MuData modality named unlike its layer."""
    p = Project(tmp_path)
    h5ad_layer("protein")(p)
    _, omics, mats, summary = p.inputs()
    assert summary.set_index("layer").loc["protein", "path"] == "data/protein.h5ad"
    assert mats["protein"].shape == (12, 4)
    q = Project(tmp_path / "renamed")
    q.root.mkdir()
    as_h5mu(q)
    q.omics.loc[q.omics["layer"] == "protein", ["layer", "modality"]] = ["proteome", "protein"]
    _, omics, mats, _ = q.inputs()
    assert "proteome" in mats and mats["proteome"].shape == (12, 4)
    assert anndata_sources(io.read_sheet(q.path("config/omics.tsv")))["proteome"] == {
        "modality": "protein",
        "anndata_layer": "",
    }


def test_var_column_names_gene_symbols_for_enrichment(tmp_path):
    """enrichment: layers: <layer>: annotation names the .h5mu; gene_column a var column of the layer's
    modality: the features (probe IDs) map to genes as through an annotation table."""
    import dataclasses
    from types import MappingProxyType

    p = Project(tmp_path)
    p.protein = p.protein.rename(columns={g: f"P{i}" for i, g in enumerate(p.protein.columns)})
    as_h5mu(p)
    p.omics.loc[p.omics["layer"] == "protein", ["layer", "modality", "gene_ids"]] = ["prot", "protein", "none"]
    p.config["enrichment"]["layers"] = {"prot": {"annotation": "data/cohort.h5mu", "gene_column": "gene_symbol"}}
    p.write()
    md = mudata.read_h5mu(p.path("data/cohort.h5mu"))
    md["protein"].var["gene_symbol"] = ["TP53", "EGFR;ERBB1", "MYC", None]
    md.write_h5mu(str(p.path("data/cohort.h5mu")))
    settings = p.settings()
    en = dataclasses.replace(
        settings.enrichment,
        layers=MappingProxyType(
            {
                "prot": dataclasses.replace(
                    settings.enrichment.layers["prot"], annotation=str(p.path("data/cohort.h5mu"))
                )
            }
        ),
    )
    raw_omics = io.read_sheet(p.path("config/omics.tsv"))
    _, annotations = io.read_enrichment_files(dataclasses.replace(en, gene_sets=MappingProxyType({})), raw_omics)
    ann = annotations["prot"]
    assert ann["feature"].tolist() == ["P0", "P1", "P2", "P3"] and ann["gene_symbol"].tolist()[:3] == [
        "TP53",
        "EGFR;ERBB1",
        "MYC",
    ]
    maps = build_gene_maps(raw_omics, en.layers, annotations, features={"prot": ["P0", "P1", "P2", "P3"]})
    pairs = maps["prot"].pairs
    assert set(map(tuple, pairs[["feature", "gene"]].to_numpy())) == {
        ("P0", "TP53"),
        ("P1", "EGFR"),
        ("P1", "ERBB1"),
        ("P2", "MYC"),
    }
    with pytest.raises(DataError, match=r"cohort\.h5mu: has no modality 'prot'"):
        io.read_enrichment_files(dataclasses.replace(en, gene_sets=MappingProxyType({})))  # no omics: the layer name


def test_var_feature_column_must_repeat_the_var_names():
    var = pd.DataFrame({"feature": ["a", "x"], "gene": ["A", "B"]}, index=["a", "b"])
    with pytest.raises(DataError, match="var column 'feature' differs from the var names"):
        var_to_annotation(var, path="x.h5ad")


# ---------------------------------------------------------------------------------------------
# out: results -> MuData, written and read back
# ---------------------------------------------------------------------------------------------


def _predictions() -> pd.DataFrame:
    rows = []
    for split, p in (("r1f1", 0.2), ("r2f1", 0.4)):
        for strategy, shift in (("early", 0.0), ("mofa", 0.1)):
            rows += [
                (split, strategy, "S1", "case", p + shift, 1 - p - shift),
                (split, strategy, "S2", "control", 0.9, 0.1),
            ]
    rows += [("final", "early", "T1", "case", 0.7, 0.3), ("final", "mofa", "T1", "case", 0.6, 0.4)]
    return pd.DataFrame(rows, columns=["split", "strategy", "sample", "y_true", "p_case", "p_control"])


def test_summary_is_the_mean_over_repeats_and_the_final_prediction_for_test_samples():
    s = summarize_predictions(_predictions())
    assert s.loc["S1", "oof_early_p_case"] == pytest.approx(0.3)
    assert s.loc["S1", "oof_mofa_p_case"] == pytest.approx(0.4)
    assert s.loc["S2", "oof_mofa_p_control"] == pytest.approx(0.1)
    assert s.loc["T1", "oof_mofa_p_case"] == pytest.approx(0.6)
    assert s["oof_source"].to_dict() == {"S1": "cv", "S2": "cv", "T1": "external_test"}
    assert s["oof_repeats"].to_dict() == {"S1": 2, "S2": 2, "T1": 0}


def _results():
    rng = np.random.default_rng(1)
    samples = ["S1", "S2", "T1", "S3"]
    layers = {
        "rna": pd.DataFrame(rng.normal(size=(4, 3)), index=samples, columns=["G1", "G2", "G3"]),
        "protein": pd.DataFrame(rng.normal(size=(3, 2)), index=["S2", "S1", "T1"], columns=["G1", "P2"]),
    }
    sheet = pd.DataFrame(
        {
            "sample": samples,
            "sample_type": "sample",
            "outcome": ["case", "control", "case", "case"],
            "split": ["train", "train", "test", "train"],
        }
    ).set_index("sample", drop=False)
    omics = pd.DataFrame(
        {
            "layer": ["rna", "protein"],
            "kind": ["rnaseq_counts", "proteomics_intensity"],
            "path": ["data/c.h5mu", "data/c.h5mu"],
        }
    ).set_index("layer", drop=False)
    factors = pd.DataFrame({"sample": ["S1", "S2", "T1"], "Factor1": [0.5, -1.0, 2.0], "Factor2": [1.0, 0.0, -0.5]})
    weights = pd.DataFrame(
        [
            (v, f, k, round(float(w), 4))
            for v, X in layers.items()
            for f in X.columns
            for k, w in zip(("Factor1", "Factor2"), rng.normal(size=2))
        ],
        columns=["view", "feature", "factor", "weight"],
    )
    variance = pd.DataFrame({"view": ["rna", "protein"], "factor": ["Factor1", "Factor1"], "r2": [0.3, 0.1]})
    board = pd.DataFrame({"strategy": ["early", "mofa"], "roc_auc": [0.8, 0.7]})
    return layers, sheet, omics, factors, weights, variance, board


def test_mudata_round_trip(tmp_path):
    layers, sheet, omics, factors, weights, variance, board = _results()
    pred = _predictions()
    md = to_mudata(
        layers,
        sheet,
        omics,
        factors=factors,
        weights=weights,
        variance=variance,
        predictions=pred,
        scoreboard=board,
        config={"seed": 42, "outcome": {"column": "outcome", "positive": None}},
        provenance={"inputs": {"data/c.h5mu": "ab12"}},
    )
    io.write_outputs({"m": md}, {"m": str(tmp_path / "moflow.h5mu")})
    back = mudata.read_h5mu(tmp_path / "moflow.h5mu")
    assert list(back.mod) == ["rna", "protein"]
    assert list(back.obs_names) == ["S1", "S2", "T1", "S3"]  # the sheet's order
    assert list(back["protein"].obs_names) == ["S1", "S2", "T1"]
    for layer, X in layers.items():
        got = back[layer].to_df()
        pd.testing.assert_frame_equal(got, X.loc[got.index].astype("float64"), check_names=False)
        w = weights[weights["view"] == layer].pivot(index="feature", columns="factor", values="weight")
        np.testing.assert_array_equal(
            back[layer].varm["LFs"], w.loc[back[layer].var_names, ["Factor1", "Factor2"]].to_numpy()
        )
    np.testing.assert_array_equal(back.obsm["X_mofa"][:3], factors[["Factor1", "Factor2"]].to_numpy())
    assert np.isnan(back.obsm["X_mofa"][3]).all()  # S3: no factors
    assert list(back.uns["mofa"]["factors"]) == ["Factor1", "Factor2"]
    assert back.obs.loc["S1", "oof_early_p_case"] == pytest.approx(0.3)
    assert back.obs.loc["T1", "oof_source"] == "external_test" and back.obs.loc["S3", "oof_source"] == "none"
    assert back.obs.loc["S1", "outcome"] == "case" and back.obs.loc["T1", "split"] == "test"
    assert json.loads(back.uns["moflow"]["config"]) == {"seed": 42, "outcome": {"column": "outcome", "positive": None}}
    assert json.loads(back.uns["moflow"]["provenance"])["inputs"] == {"data/c.h5mu": "ab12"}
    assert back.uns["predictions"].shape == pred.shape and back.uns["scoreboard"]["strategy"].tolist() == [
        "early",
        "mofa",
    ]
    assert back["rna"].uns["moflow"]["kind"] == "rnaseq_counts"


def test_exported_file_reads_back_as_a_moflow_cohort(tmp_path):
    """The export's obs and modalities are again a valid moflow input (obs the sheet, modalities the layers)."""
    layers, sheet, omics, factors, weights, variance, board = _results()
    md = to_mudata(
        layers,
        sheet,
        omics,
        factors=factors,
        weights=weights,
        variance=variance,
        predictions=_predictions(),
        scoreboard=board,
        config={},
        provenance={},
    )
    md.write_h5mu(str(tmp_path / "m.h5mu"))
    back = io.read_sheet(tmp_path / "m.h5mu")
    assert back["sample"].tolist() == ["S1", "S2", "T1", "S3"] and back["outcome"].tolist()[0] == "case"
    X = io.read_raw_table(tmp_path / "m.h5mu", layer="protein")
    pd.testing.assert_frame_equal(X, layers["protein"].loc[["S1", "S2", "T1"]], check_names=False)
    checked = check_omics_sheet(
        pd.DataFrame({"layer": ["rna"], "kind": ["rnaseq_counts"], "path": [str(tmp_path / "m.h5mu")]}),
        path="omics.tsv",
        samples=back.set_index("sample"),
        samples_path="m.h5mu",
    )
    assert checked.loc["rna", "modality"] == "rna" and checked.loc["rna", "orientation"] == "samples_in_rows"


def test_same_results_give_the_same_object():
    layers, sheet, omics, factors, weights, variance, board = _results()
    kw = dict(
        factors=factors,
        weights=weights,
        variance=variance,
        predictions=_predictions(),
        scoreboard=board,
        config={"seed": 1},
        provenance={},
    )
    a, b = to_mudata(layers, sheet, omics, **kw), to_mudata(layers, sheet, omics, **kw)
    pd.testing.assert_frame_equal(a.obs, b.obs)
    assert a.uns["moflow"]["config"] == b.uns["moflow"]["config"]


def test_new_patients_without_an_outcome_are_exported(tmp_path):
    """External test samples without an outcome (an empty y_true, NaN once read back from the TSV) go
    into the MuData file: their prediction is kept, their y_true is an empty string."""
    layers, sheet, omics, factors, weights, variance, board = _results()
    sheet.loc["T1", "outcome"] = ""
    pred = _predictions()
    pred["y_true"] = pred["y_true"].astype(object)
    pred.loc[pred["sample"] == "T1", "y_true"] = np.nan
    md = to_mudata(
        layers,
        sheet,
        omics,
        factors=factors,
        weights=weights,
        variance=variance,
        predictions=pred,
        scoreboard=board,
        config={},
        provenance={},
    )
    io.write_outputs({"m": md}, {"m": str(tmp_path / "moflow.h5mu")})
    back = mudata.read_h5mu(tmp_path / "moflow.h5mu")
    stored = back.uns["predictions"]
    new = stored[stored["sample"] == "T1"]
    assert len(new) == 2 and (new["y_true"] == "").all()
    assert new["p_case"].tolist() == [0.7, 0.6]
    assert back.obs.loc["T1", "oof_source"] == "external_test"
