"""The design stage's power study on real data (../shared/data; skipped where absent).

cll_mofa (Dietrich et al. 2018): drug response (continuous, 310 drug x concentration features) and
mutations (binary, 69 calls) of the samples with a known IGHV status (mutated M vs unmutated U). IGHV is the
strongest known axis of CLL drug response (the published MOFA model's Factor 1): many drug features differ
between the groups, so the drug layer has a clear non-null share and reaches power with tens of samples per
group, while most mutation calls are rare and the binary layer (two proportions on its 0/1 calls) needs
more per feature. Measured (seed 1; 9 s with the imports; IGHV known for 188 samples):

    layer      kind        m    pi0    non-null   n per group for power 0.8 (FDR 0.05)
    drugs      continuous  310  0.28   224        75
    mutations  binary       68  0.74    18        100

Joint designs: one size for both layers 100 per group (mean power 0.88); the cheapest with equal costs
50 drug / 100 mutation samples per group (mean 0.82).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from realdata_helpers import require_dataset

from moflow.settings import Settings, default_config, sections_of
from moflow.tasks import design_power

pytestmark = pytest.mark.realdata


def _cll():
    d = require_dataset("cll_mofa")
    meta = pd.read_csv(d / "metadata.csv", index_col=0)
    meta.index = meta.index.astype(str)
    known = meta["IGHV_status"].isin(["M", "U"])
    sheet = pd.DataFrame(
        {"sample": meta.index[known], "sample_type": "sample", "ighv": meta.loc[known, "IGHV_status"].astype(str)}
    ).reset_index(drop=True)
    drugs = pd.read_csv(d / "drugs.csv", index_col=0)
    muts = pd.read_csv(d / "mutations.csv", index_col=0)
    raw = {}
    for name, X in (("drugs", drugs), ("mutations", muts)):
        X.index = X.index.astype(str)
        raw[name] = X.loc[X.index.intersection(sheet["sample"])].loc[lambda x: x.notna().any(axis=1)]
    omics = pd.DataFrame(
        [
            {"layer": "drugs", "kind": "continuous", "path": "drugs.csv"},
            {"layer": "mutations", "kind": "binary", "path": "mutations.csv"},
        ]
    )
    return sheet, raw, omics


def test_cll_power_per_layer_for_ighv():
    sheet, raw, omics = _cll()
    full = default_config(outcome={"column": "ighv"}, seed=1)
    settings = Settings.from_config(sections_of(full, design_power.reads))
    # "preprocessed": the drug layer standardized (the t test is scale-free), mutation calls as they are
    layers = {
        "drugs": (raw["drugs"] - raw["drugs"].mean()) / raw["drugs"].std(),
        "mutations": raw["mutations"].loc[:, raw["mutations"].notna().mean() > 0.5],
    }
    out = design_power(raw, layers, sheet, omics, settings)
    power = out["power"]
    first = power.groupby("layer").first()
    print(first[["kind", "m", "pi0", "m_nonnull"]].to_string())
    print(out["joint"].to_string())
    assert first.loc["drugs", "kind"] == "continuous" and first.loc["mutations", "kind"] == "binary"
    # IGHV drives drug response: a large non-null share; its power climbs with the size and reaches 0.8
    assert first.loc["drugs", "pi0"] < 0.7
    drugs = power[power["layer"] == "drugs"].sort_values("n_per_group")
    assert np.all(np.diff(drugs["power"].to_numpy()) >= -1e-9)
    joint = out["joint"].set_index(["design", "layer"])
    n_drugs = joint.loc[("per_layer", "drugs"), "n_per_group"]
    assert 10 <= n_drugs <= 150, n_drugs
    # the binary layer is tested as proportions of its 0/1 calls, on the features kept (present in > half)
    assert first.loc["mutations", "m"] == layers["mutations"].shape[1]
    if joint.loc[("per_layer", "mutations"), "feasible"]:
        assert joint.loc[("per_layer", "mutations"), "n_per_group"] >= n_drugs
