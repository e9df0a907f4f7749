"""The report's "Subtypes" section: the answer in words with the chosen row's numbers, "no reproducible
subtypes" where no k was chosen, every user string escaped, the figures as PNG bytes (no heatmap for a single
subtype), and the sentence on the outcome where it was tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moflow.report import plot_k_evidence, plot_subtype_heatmap, plot_subtype_km, subtypes_html, subtypes_sentence

PNG = b"\x89PNG"


def k_selection(chosen_k: int | None) -> pd.DataFrame:
    """Every representation x clustering for k = 2..5; the network + spectral row at ``chosen_k`` chosen."""
    rows = []
    for rep in ("components", "network"):
        for clu in ("kmeans", "spectral"):
            for k in range(2, 6):
                top = rep == "network" and clu == "spectral"
                s = (0.91 if k == 3 else 0.62) if top and chosen_k else 0.5 - 0.03 * k
                ref = 0.55 if k == 3 else 0.6
                rows.append(
                    {
                        "representation": rep,
                        "clustering": clu,
                        "k": k,
                        "strength": s,
                        "strength_lo": s - 0.06,
                        "strength_hi": s + 0.05,
                        "reference": ref,
                        "reference_lo": ref - 0.07,
                        "reference_hi": ref + 0.07,
                        "gain": s - ref,
                        "gain_lo": s - ref - 0.06,
                        "chosen": bool(top and k == chosen_k),
                        "pac": (0.08 if k == 3 else 0.3) if top else np.nan,
                        "resamples": 20,
                    }
                )
    return pd.DataFrame(rows)


def assignments(sizes: dict[str, int]) -> pd.DataFrame:
    labels = [s for s, n in sizes.items() for _ in range(n)]
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "sample": [f"x{i}" for i in range(len(labels))],
            "subtype": labels,
            "confidence": rng.uniform(0.6, 1, len(labels)),
        }
    )


def layers_and_markers(a: pd.DataFrame, layer_names=("rna", "methylation")) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(1)
    layers, rows = {}, []
    codes = a["subtype"].str[1:].astype(int).to_numpy()
    for layer in layer_names:
        X = pd.DataFrame(rng.normal(size=(len(a), 30)), index=a["sample"], columns=[f"{layer}_g{j}" for j in range(30)])
        X.iloc[:, :6] += codes[:, None]
        layers[layer] = X
        for s in sorted(a["subtype"].unique()):
            for j in range(30):
                p = 1e-6 * (j + 1) if j < 6 else 0.5
                rows.append([layer, s, X.columns[j], 1.0, 0.0, 1.0, 4.0, p, p * 10])
    cols = ["layer", "subtype", "feature", "mean_in", "mean_out", "difference", "t", "p", "fdr"]
    return layers, pd.DataFrame(rows, columns=cols)


ASSOC = pd.DataFrame(
    {
        "column": ["outcome", "batch", "sex"],
        "test": ["chi2", "chi2", "kruskal"],
        "statistic": [25.0, 1.2, 0.4],
        "p": [1e-5, 0.55, 0.8],
        "fdr": [3e-5, 0.8, 0.8],
        "n": [150, 150, 149],
    }
)
SIZES3 = {"S1": 60, "S2": 50, "S3": 40}


def test_three_subtypes_named_with_the_chosen_numbers():
    ks, a = k_selection(3), assignments(SIZES3)
    out = subtypes_html(k_selection=ks, assignments=a, markers=layers_and_markers(a)[1], associations=ASSOC)
    answer = out.split("</p>")[0]
    assert "3 subtypes (sizes S1 60, S2 50, S3 40)" in answer
    # the chosen row's numbers: strength 0.91 (0.85-0.96) against 0.55 (0.48-0.62), gain 0.36 (lower 0.30)
    for number in ("0.91", "0.85-0.96", "0.55", "0.48-0.62", "0.36", "lower bound 0.30", "PAC 0.08"):
        assert number in answer, number
    assert "network + spectral" in answer
    assert "No reproducible subtypes" not in out
    # the kept combination comes first in the k-selection table
    table = out.split("Evidence for k")[1]
    assert table.index("<td>network</td><td>spectral</td>") < table.index("<td>components</td>")
    s = subtypes_sentence(ks, a)
    assert s == (
        "Subtypes: 3 reproducible subtypes (S1 60, S2 50, S3 40 samples; prediction strength 0.91 against 0.55 "
        "without structure, network + spectral)."
    )


def test_k1_says_no_reproducible_subtypes():
    ks, a = k_selection(None), assignments({"S1": 150})
    assert not ks["chosen"].any()
    out = subtypes_html(k_selection=ks, assignments=a, markers=pd.DataFrame(), associations=pd.DataFrame())
    answer = out.split("</p>")[0]
    best = ks.loc[ks["gain"].idxmax()]
    assert answer.endswith(
        f"No reproducible subtypes: no k from 2 to 5 beat a reference without structure (best: k = {best['k']}, "
        f"strength {best['strength']:.2f} against {best['reference']:.2f}, "
        f"{best['representation']} + {best['clustering']})."
    )
    assert "subtypes (sizes" not in out
    assert subtypes_sentence(ks, a).startswith("Subtypes: none reproducible")


def test_chosen_read_back_as_text():
    ks = k_selection(3).assign(chosen=lambda d: d["chosen"].map({True: "True", False: "False"}))
    assert "3 reproducible subtypes" in subtypes_sentence(ks, assignments(SIZES3))


def test_user_strings_are_escaped():
    bad = "<script>alert(1)</script>"
    ks = k_selection(3)
    ks["representation"] = ks["representation"].replace("network", bad)
    a = assignments(SIZES3)
    a["subtype"] = a["subtype"].replace("S2", "S2" + bad)
    layers, markers = layers_and_markers(assignments(SIZES3))
    markers["feature"] = markers["feature"] + bad
    markers["layer"] = markers["layer"].replace("rna", bad)
    assoc = ASSOC.assign(column=["outcome" + bad, "batch", "sex"])
    emb = pd.DataFrame({"sample": a["sample"] + bad, "subtype": a["subtype"], "UMAP1": 1.0, "UMAP2": 2.0})
    profile = pd.DataFrame({"subtype": ["S1", "S2" + bad, "S3"], "Factor1": [0.1, -0.2, 0.3]})
    out = subtypes_html(
        k_selection=ks,
        assignments=a,
        markers=markers,
        associations=assoc,
        embedding=emb,
        profile=profile,
        outcome_column="outcome" + bad,
    )
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_figures_are_png():
    ks, a = k_selection(3), assignments(SIZES3)
    assert plot_k_evidence(ks).startswith(PNG)
    assert plot_k_evidence(k_selection(None), min_strength=0.8).startswith(PNG)
    layers, markers = layers_and_markers(a)
    png = plot_subtype_heatmap(layers, a, markers, top=4)
    assert png is not None and png.startswith(PNG)
    html = subtypes_html(
        k_selection=ks, assignments=a, markers=markers, associations=ASSOC, evidence_png=png, heatmap_png=png
    )
    assert html.count("data:image/png;base64,") == 2


def test_no_heatmap_for_one_subtype_or_no_marker():
    a1 = assignments({"S1": 40})
    layers, markers = layers_and_markers(a1)
    assert plot_subtype_heatmap(layers, a1, markers) is None
    a = assignments(SIZES3)
    layers, markers = layers_and_markers(a)
    assert plot_subtype_heatmap(layers, a, markers.iloc[:0]) is None


@pytest.mark.parametrize("fdr, word", [(3e-5, "are associated with it"), (0.2, "are not associated with it")])
def test_outcome_sentence_where_the_outcome_was_tested(fdr, word):
    ks, a = k_selection(3), assignments(SIZES3)
    assoc = ASSOC.assign(fdr=[fdr, 0.8, 0.8])
    markers = layers_and_markers(a)[1]
    out = subtypes_html(k_selection=ks, assignments=a, markers=markers, associations=assoc, outcome_column="outcome")
    assert "found without the outcome (outcome), " + word in out
    assert "chi-squared test, p = 1e-05" in out
    absent = subtypes_html(k_selection=ks, assignments=a, markers=markers, associations=assoc, outcome_column="age")
    assert "found without the outcome" not in absent


def test_markers_survival_and_profile():
    ks, a = k_selection(3), assignments(SIZES3)
    markers = layers_and_markers(a)[1]
    survival = pd.DataFrame({"chi2": [12.345], "df": [2], "p": [0.0021], "n": [140]})
    profile = pd.DataFrame({"subtype": ["S1", "S2", "S3"], "Factor1": [0.5, -0.1, -0.6], "Factor2": [0, 1, 2]})
    out = subtypes_html(
        k_selection=ks, assignments=a, markers=markers, associations=ASSOC, survival=survival, profile=profile
    )
    # 6 features per layer and subtype at FDR < 0.05 (fdr = 10 p), of 30 tested
    summary = out.split("Features that separate each subtype")[1].split("</table>")[0]
    assert summary.count('data-v="6"') == 6 and summary.count('data-v="30"') == 6
    top = out.split("Top 5 markers per subtype and layer")[1].split("</table>")[0]
    assert top.count("<tr>") == 1 + 5 * 3 * 2 and "rna_g5" not in top and "rna_g4" in top
    assert "chi2 = 12.35 on 2 df, p = 0.0021 (n = 140)" in out
    assert "Kaplan-Meier curve of each subtype" not in out  # no curves given: none drawn
    km = pd.concat(
        pd.DataFrame(
            {"subtype": g, "time": [0.0, 1.0, 2.0], "survival": [1.0, s, s * s], "lo": np.nan, "hi": np.nan}
        ).assign(at_risk=[40, 30, 20], events=[0, 5, 5])
        for g, s in (("S1", 0.9), ("S2", 0.7), ("S3", 0.5))
    )
    png = plot_subtype_km(km, survival, time_unit="months")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with_km = subtypes_html(
        k_selection=ks, assignments=a, markers=markers, associations=ASSOC, km_png=png, survival=survival
    )
    assert "Kaplan-Meier curve of each subtype" in with_km
    assert "MOFA factor profile" in out and "Factor2" in out
