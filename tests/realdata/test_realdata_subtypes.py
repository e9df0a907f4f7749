"""Subtypes without an outcome on real cohorts (moflow.subtypes.discover), the outcome hidden from it.

* breast_tcga (150 training samples, mRNA, miRNA, protein; PAM50 Basal/Her2/LumA hidden): measured here
  k = 2 (per-layer components, spectral clustering), Basal against the rest, adjusted Rand index 0.60 with
  PAM50. Her2 and LumA do not come apart reproducibly on held-out halves in these 526 features;
* cll_mofa (184 samples with drug responses, mean-imputed; IGHV and trisomy 12 hidden): k = 2, the
  subtypes associated with IGHV status (chi-square p 5e-10; published: IGHV is the first axis of drug
  response, MOFA factor 1) and, less, with trisomy 12 (p 0.02).
"""

from __future__ import annotations

import pandas as pd
import pytest
from realdata_helpers import require_dataset
from sklearn.metrics import adjusted_rand_score

from moflow.subtypes import discover, subtype_associations

pytestmark = pytest.mark.realdata
SETTINGS = dict(k_max=6, clusterings=("kmeans", "spectral"), resamples=20, seed=0)


def test_breast_tcga_subtypes_found_without_the_pam50_labels():
    d = require_dataset("breast_tcga")
    meta = pd.read_csv(d / "metadata.csv", dtype=str).set_index("sample")
    layers = {n: pd.read_csv(d / f"{n}_train.csv", index_col=0) for n in ("mrna", "mirna", "protein")}
    found = discover(layers, **SETTINGS)
    a = found["assignments"].set_index("sample")
    assert found["k"] == 2, found["evidence"].round(2).to_string()
    assert adjusted_rand_score(meta.loc[a.index, "subtype"], a["subtype"]) >= 0.5
    basal = a.loc[meta.index[meta["subtype"] == "Basal"].intersection(a.index), "subtype"]
    assert basal.value_counts(normalize=True).iloc[0] >= 0.9  # the Basal tumours are one subtype


def test_cll_drug_response_subtypes_follow_ighv():
    d = require_dataset("cll_mofa")
    meta = pd.read_csv(d / "metadata.csv", dtype=str).set_index("sample")
    drugs = pd.read_csv(d / "drugs.csv", index_col=0).dropna(how="all")
    found = discover({"drugs": drugs.fillna(drugs.mean())}, **SETTINGS)
    assert found["k"] >= 2, found["evidence"].round(2).to_string()
    a = found["assignments"].set_index("sample")
    assoc = subtype_associations(meta.loc[a.index, ["IGHV_status", "trisomy12"]], a["subtype"]).set_index("column")
    assert assoc.loc["IGHV_status", "fdr"] < 1e-6 and assoc.loc["IGHV_status", "n"] == 172
    assert assoc.loc["trisomy12", "p"] < 0.05
