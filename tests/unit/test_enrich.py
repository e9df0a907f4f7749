"""Gene-set enrichment: GMT parsing, identifier overlap, planted sets found from MOFA weights, offline."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from moflow.enrich import check_overlap, factor_enrichment, parse_gmt, prerank, rank_results
from moflow.errors import InputError
from moflow.io import read_gmt_lines, write_gmt
from moflow.mofa import match_factors
from moflow.simulate import FACTORS


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


# ---------------------------------------------------------------------------------------------
# GMT parsing
# ---------------------------------------------------------------------------------------------


def test_parse_gmt_reports_malformed_lines_by_number():
    lines = [
        "SET_A\tdescription\tG1\tG2\tG3",  # 1 ok
        "BROKEN LINE WITHOUT TABS",  # 2 bad
        "",  # 3 blank: skipped
        "# a comment",  # 4 skipped
        "SET_B\tdescription",  # 5 bad: no genes column
        "SET_A\tagain\tG4",  # 6 bad: duplicate name
        "SET_C\tdescription\t\t",  # 7 bad: empty genes
        "SET_D\tdescription\tG5",  # 8 ok
    ]
    with pytest.raises(InputError) as err:
        parse_gmt(lines, path="sets/custom.gmt")
    msg = str(err.value)
    assert msg.startswith("sets/custom.gmt: malformed GMT")
    for n in (2, 5, 6, 7):
        assert f"line {n}" in msg, n
    for n in (1, 3, 4, 8):
        assert f"line {n}:" not in msg and f"line {n} " not in msg, n
    assert "'SET_A' defined twice" in msg and "('SET_C'): no genes" in msg


def test_parse_gmt_caps_the_list_of_problems():
    lines = [f"BAD{i}" for i in range(8)]
    with pytest.raises(InputError, match=r"line 5: .*; and 3 more"):
        parse_gmt(lines, path="x.gmt")


def test_parse_gmt_good_file_and_round_trip(cohort, tmp_path):
    sets = parse_gmt(["# header", "S1\tNA\tA\tB\tA\t", "S2\thttp://x\tC"], path="x.gmt")
    assert sets == {"S1": ["A", "B"], "S2": ["C"]}  # duplicates dropped, order kept
    path = tmp_path / "demo.gmt"
    write_gmt(cohort.gene_sets, path)
    assert parse_gmt(read_gmt_lines(path), path=str(path)) == cohort.gene_sets


def test_parse_gmt_empty_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="no gene set found"):
        parse_gmt(["", "# only comments"], path="e.gmt")
    with pytest.raises(InputError, match="local GMT files only"):
        read_gmt_lines(tmp_path / "absent.gmt")


# ---------------------------------------------------------------------------------------------
# identifier overlap
# ---------------------------------------------------------------------------------------------


def test_check_overlap_raises_when_no_shared_genes(cohort):
    ensembl = [f"ENSG{i:011d}" for i in range(600)]
    with pytest.raises(InputError) as err:
        check_overlap(cohort.gene_sets, ensembl, path="sets/demo.gmt", layer="rna", min_overlap=0.05)
    msg = str(err.value)
    assert "sets/demo.gmt" in msg and "layer 'rna'" in msg and "0 of the 600 genes" in msg
    assert "ENSG00000000000" in msg  # an example identifier of the layer


def test_check_overlap_returns_fraction(cohort):
    genes = list(cohort.layers["rna"].columns)
    in_sets = set().union(*cohort.gene_sets.values())
    frac = check_overlap(cohort.gene_sets, genes, path="g.gmt", layer="rna", min_overlap=0.1)
    assert frac == pytest.approx(len(set(genes) & in_sets) / len(genes))
    with pytest.raises(InputError):
        check_overlap(cohort.gene_sets, genes, path="g.gmt", layer="rna", min_overlap=frac + 0.01)


# ---------------------------------------------------------------------------------------------
# prerank and factor enrichment
# ---------------------------------------------------------------------------------------------


def test_prerank_is_offline_and_hands_gseapy_a_dict(monkeypatch, no_network):
    import gseapy

    seen = {}
    real = gseapy.prerank

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gseapy, "prerank", spy)
    rng = np.random.default_rng(0)
    genes = [f"G{i:03d}" for i in range(300)]
    scores = pd.Series(rng.normal(size=300), index=genes)
    top = list(scores.sort_values(ascending=False).index[:30])
    sets = {"TOP": top, "RANDOM": list(rng.choice(genes, 30, replace=False)), "TINY": genes[:3],
            "ELSEWHERE": [f"X{i}" for i in range(30)]}
    res = prerank(scores, sets, permutations=100, min_size=10, seed=0)
    assert isinstance(seen["gene_sets"], dict)
    assert seen["outdir"] is None
    assert not no_network
    # sets outside [min_size, max_size] after intersecting with the ranked genes are not tested
    assert set(res["term"]) == {"TOP", "RANDOM"}
    r = res.set_index("term")
    assert r.loc["TOP", "nes"] > 0 and r.loc["TOP", "fdr"] < 0.05
    assert r.loc["TOP", "set_size"] == 30
    assert r.loc["TOP", "nes"] > r.loc["RANDOM", "nes"]


def test_prerank_without_testable_sets_returns_empty_table():
    scores = pd.Series([1.0, 2.0, 3.0], index=["A", "B", "C"])
    res = prerank(scores, {"S": ["X", "Y"]}, min_size=1)
    assert res.empty and list(res.columns) == ["term", "es", "nes", "p", "fdr", "set_size", "leading_edge"]


def test_rank_results_orders_by_fdr_then_abs_nes():
    df = pd.DataFrame({"factor": ["F", "F", "F", "G"], "term": ["a", "b", "c", "a"],
                       "nes": [1.5, -3.0, 2.0, 1.0], "fdr": [0.01, 0.01, 0.2, 0.5]})
    r = rank_results(df, ["factor"])
    f = r[r["factor"] == "F"]
    assert list(f["term"]) == ["b", "a", "c"] and list(f["rank"]) == [1, 2, 3]
    assert list(f["direction"]) == ["negative", "positive", "positive"]
    assert r.loc[r["factor"] == "G", "rank"].tolist() == [1]


@pytest.fixture(scope="module")
def rna_enrichment(mofa_full, cohort):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    with pytest.MonkeyPatch.context() as mp:  # no network during the run
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        return factor_enrichment(mofa_full.weights(), cohort.gene_sets, layers=["rna"], permutations=200, seed=0)


def test_factor_enrichment_ranks_planted_set_first(rna_enrichment, mofa_full, cohort):
    res = rna_enrichment
    assert set(res["layer"]) == {"rna"}
    matched = match_factors(mofa_full.Z_train_, cohort.factors).set_index("true_factor")
    for f, (layers, gs) in FACTORS.items():
        lf = matched.loc[f, "learned_factor"]
        d = res[res["factor"] == lf].sort_values("rank")
        top = d.iloc[0]
        assert top["term"] == gs, (f, d.head(3))
        assert top["fdr"] < 0.05
        assert abs(top["nes"]) > 3
        # the factor's top hit is never a decoy; decoys score clearly below the planted set
        decoys = d[d["term"].str.startswith("DECOY_")]
        assert (decoys["rank"] > 1).all()
        assert (decoys["nes"].abs() < 0.5 * abs(top["nes"])).all()


def test_decoys_rarely_reach_fdr_005(rna_enrichment, mofa_full, cohort):
    matched = match_factors(mofa_full.Z_train_, cohort.factors)
    d = rna_enrichment[rna_enrichment["factor"].isin(matched["learned_factor"])
                       & rna_enrichment["term"].str.startswith("DECOY_")]
    assert len(d) == 4 * 20
    assert (d["fdr"] < 0.05).mean() <= 0.05


def test_factor_enrichment_skips_other_layers_and_empty_factors():
    W = pd.DataFrame({"view": ["metabolomics"] * 3 + ["rna"] * 3, "feature": ["M1", "M2", "M3", "A", "B", "C"],
                      "factor": ["Factor1"] * 6, "weight": [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]})
    res = factor_enrichment(W, {"S": ["A", "B", "C"]}, layers=["rna"], min_size=1)
    assert res.empty and "rank" in res.columns

