"""Issue 5 checks on real data (../shared/data), skipped where it is absent.

breast_tcga (mixOmics; 150 training tumours, 200 mRNA genes, 184 miRNAs, 142 RPPA proteins) with
MSigDB Hallmark: whatever separates Basal from luminal A tumours, MOFA's factor or a penalized
logistic regression, must have estrogen response (early or late) among its top five pathways.
Only 91 of the 200 genes are in any Hallmark set, so sets need only 5 measured genes here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from moflow.enrich import check_overlap, combine_layers, factor_enrichment, model_enrichment, parse_gmt
from moflow.io import read_gmt_lines

pytestmark = pytest.mark.realdata
ESTROGEN = {"HALLMARK_ESTROGEN_RESPONSE_EARLY", "HALLMARK_ESTROGEN_RESPONSE_LATE"}


@pytest.fixture(scope="module")
def breast(dataset_dir):
    d = dataset_dir("breast_tcga")  # skips where ../shared/data is absent (tests/realdata/conftest.py)
    hallmark = parse_gmt(read_gmt_lines(dataset_dir("genesets") / "msigdb_hallmark_h.all.v7.0.symbols.gmt"))
    layers = {n: pd.read_csv(d / f"{n}_train.csv", index_col=0) for n in ("mrna", "mirna", "protein")}
    for X in layers.values():
        X.index = X.index.astype(str)
    y = pd.read_csv(d / "metadata.csv", dtype=str).set_index("sample")["subtype"].reindex(layers["mrna"].index)
    scaled = {n: (X - X.mean()) / X.std(ddof=1) for n, X in layers.items()}
    return scaled, y, hallmark


def test_hallmark_overlap_of_breast_mrna(breast):
    scaled, _, hallmark = breast
    frac = check_overlap(hallmark, scaled["mrna"].columns, path="hallmark", layer="mrna", min_overlap=0.05)
    assert frac == pytest.approx(91 / 200)


def test_estrogen_response_behind_the_basal_vs_luminal_factor(breast):
    from moflow.integrate import MOFA

    scaled, y, hallmark = breast
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mofa = MOFA(n_factors=10, seed=1).fit(scaled)
    Z = mofa.Z_train_
    basal, luma = y == "Basal", y == "LumA"
    auc = {
        f: stats.mannwhitneyu(Z.loc[basal, f], Z.loc[luma, f]).statistic / (basal.sum() * luma.sum()) for f in Z.columns
    }
    factor = max(auc, key=lambda f: abs(auc[f] - 0.5))
    assert abs(auc[factor] - 0.5) > 0.45  # the factor separates the subtypes almost perfectly
    res = factor_enrichment(
        mofa.weights(),
        hallmark,
        layers=["mrna"],
        variance=mofa.r2_,
        min_variance_explained=0.005,
        min_size=5,
        permutations=1000,
        seed=0,
    )
    top = res[res["factor"] == factor].sort_values("rank").head(5)
    assert ESTROGEN & set(top["term"]), top[["term", "nes", "fdr"]]
    er = top[top["term"].isin(ESTROGEN)].iloc[0]
    assert er["fdr"] < 0.05
    # estrogen genes go with luminal tumours: the factor's sign decides the NES sign
    luminal_high = np.sign(Z.loc[luma, factor].mean() - Z.loc[basal, factor].mean())
    assert np.sign(er["nes"]) == luminal_high


def test_estrogen_response_behind_a_basal_vs_luminal_model(breast):
    from sklearn.linear_model import LogisticRegression

    scaled, y, hallmark = breast
    keep = y.isin(["Basal", "LumA"])
    X = scaled["mrna"][keep]
    model = LogisticRegression(C=0.1, max_iter=5000).fit(X.to_numpy(), (y[keep] == "Basal").to_numpy())
    coefs = pd.DataFrame({"layer": "mrna", "feature": X.columns, "Basal": model.coef_[0]})
    res = model_enrichment(coefs, hallmark, layers=["mrna"], min_size=5, permutations=1000, seed=0)
    top = res.sort_values("rank").head(5)
    assert ESTROGEN & set(top["term"]), top[["term", "nes", "fdr"]]
    er = top[top["term"].isin(ESTROGEN)].iloc[0]
    assert er["nes"] < 0 and er["fdr"] < 0.05  # lower in Basal tumours
    combined = combine_layers(res.assign(collection="hallmark"), by=["collection", "target"])
    assert combined.iloc[0]["term"] in ESTROGEN
