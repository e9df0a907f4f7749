"""Gene-set coverage: identifiers of another type stop the input stage; a small genuine collection runs.

A GMT that covers a few percent of a layer's genes (a TCGA-shaped cohort, 20,000 genes, a focused
collection) is a valid input: it passes validation and the hierarchical strategy scores it in every
fold. Identifiers of another type (Ensembl IDs, probe IDs, Entrez IDs against gene symbols) stop
validate_inputs with the file, the layer, IDs of both sides and the fix. A layer whose genes keep no
set within the hierarchical strategy's size bounds is left out with the reason (log, coefficients
table, report); where every layer is, the strategy is left out of the scoreboard, never a mid-run failure.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import GENES, SAMPLES, STAGES, Project, both, config, raw

from moflow import io
from moflow.errors import DataError, InputError
from moflow.inputs import check_gene_set_overlap
from moflow.integrate import build_prior, build_strategies
from moflow.report.hierarchical_section import hierarchical_html, hierarchical_sentence
from moflow.tasks import cv_fold, cv_splits, integrate_hierarchical

ENSEMBL = [f"ENSG{i:011d}" for i in range(141510, 141510 + len(GENES))]
PROBES = [f"cg{i:08d}" for i in range(29, 29 + len(GENES))]
ENTREZ_GMT = "SET_A\tna\t7157\t1956\t4609\nSET_B\tna\t2597\t60\t3845\n"
ENSEMBL_GMT = "SET_A\tna\t" + "\t".join(f"ENSG{i:011d}" for i in range(200)) + "\tTP53\n"


def rna_features(names):
    """The rna layer's features renamed (same values)."""

    def breaker(p: Project):
        p.rna = p.rna.set_axis(names, axis=1)

    return breaker


CASES = {
    "Ensembl IDs against a symbol GMT": (
        "inputs",
        rna_features(ENSEMBL),
        DataError,
        [
            r"sets\.gmt: no gene of this file is a feature of layer 'rna' \(data/rna\.tsv\)",
            r"'ENSG00000141510', 'ENSG00000141511'.* \(Ensembl IDs\)",
            r"'ACTB', 'EGFR'.* \(gene symbols or names\)",
            "set gene_ids to none for layer 'rna' in the omics sheet",
            r"enrichment: layers: rna: annotation; see docs/enrichment\.md",
            "use a GMT of Ensembl IDs",
        ],
    ),
    "probe IDs against a symbol GMT": (
        "inputs",
        rna_features(PROBES),
        DataError,
        [r"layer 'rna'", r"'cg00000029'.* \(probe IDs\)", r"\(gene symbols or names\)", "enrichment: layers: rna"],
    ),
    "Entrez GMT against symbol layers": (
        "inputs",
        raw("data/sets.gmt", ENTREZ_GMT),
        DataError,
        [r"layer 'rna'", r"'TP53'.* \(gene symbols or names\)", r"'1956', '2597'.* \(Entrez \(NCBI Gene\) IDs\)"],
    ),
    "Ensembl GMT sharing one symbol by chance": (
        "inputs",
        raw("data/sets.gmt", ENSEMBL_GMT),
        DataError,
        [
            r"sets\.gmt: only 1 of the 201 genes of this file are features of layer 'rna'",
            r"\(Ensembl IDs\)",
            "use a GMT of gene symbols or names",
        ],
    ),
}


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_identifier_mismatch_stops_with_file_layer_ids_and_fix(project, case):
    stage, breaker, error, patterns = CASES[case]
    breaker(project)
    with pytest.raises(InputError) as err:
        STAGES[stage](project)
    msg = str(err.value)
    assert isinstance(err.value, error), f"{type(err.value).__name__} instead of {error.__name__}: {msg}"
    for pattern in patterns:
        assert re.search(pattern, msg), f"{pattern!r} not in: {msg}"


def _tcga_like(n_genes=20_000, covered=865):
    """Symbols of a TCGA-shaped layer and a genuine small GMT (symbols) covering ``covered`` of them."""
    genes = [f"GENE{i:05d}" for i in range(n_genes)]
    sets = {f"SET_{k}": genes[k * 20 : (k + 1) * 20] for k in range(covered // 20)}
    if covered % 20:
        sets["SET_LAST"] = genes[(covered // 20) * 20 : covered]
    lines = [f"{name}\tna\t" + "\t".join(members) + "\n" for name, members in sets.items()]
    return genes, lines


def test_small_genuine_collection_passes_the_identifier_check():
    genes, lines = _tcga_like()
    assert 0.04 < 865 / len(genes) < 0.05
    check_gene_set_overlap({"rna": genes}, {"sets.gmt": lines}, {"sets.gmt": ["rna"]})  # no error


def test_ensembl_features_against_symbol_gmt_stop():
    genes, lines = _tcga_like(2000, 100)
    ensembl = [f"ENSG{i:011d}" for i in range(2000)]
    with pytest.raises(DataError, match=r"no gene of this file is a feature of layer 'rna'.*Ensembl IDs"):
        check_gene_set_overlap({"rna": ensembl}, {"sets.gmt": lines}, {"sets.gmt": ["rna"]})


# -- the hierarchical strategy in a fold --------------------------------------------------------

N_GENES = 2000


def _cohort(project: Project, gmt: str) -> Project:
    """The tiny project with a 2,000-gene rna layer, the given GMT and only the hierarchical strategy."""
    rng = np.random.default_rng(1)
    genes = [f"GENE{i:04d}" for i in range(N_GENES - len(GENES))] + GENES
    project.rna = pd.DataFrame(rng.integers(50, 500, (len(SAMPLES), N_GENES)), index=SAMPLES, columns=genes).astype(str)
    both(
        raw("data/sets.gmt", gmt),
        config(evaluation__strategies=["hierarchical"], preprocess={"protein": {"impute": {"method": "halfmin"}}}),
    )(project)
    return project


def _small_gmt() -> str:
    """Ten sets of 8 rna genes (80 of 2,000 genes: 4%) and one of the 4 proteins (fewer than min_size 5)."""
    lines = [f"SET_{k}\tna\t" + "\t".join(f"GENE{i:04d}" for i in range(8 * k, 8 * k + 8)) for k in range(10)]
    lines.append("PROTEINS\tna\tTP53\tEGFR\tMYC\tKRAS")
    return "\n".join(lines) + "\n"


def _fold(project: Project):
    settings, _, _ = project.startup()
    _, _, matrices, _ = project.inputs()
    raw_samples = io.read_sheet(project.path("config/samples.tsv"))
    raw_omics = io.read_sheet(project.path("config/omics.tsv"))
    splits = cv_splits(raw_samples, raw_omics, settings)["splits"]
    files = io.read_enrichment_files(settings.enrichment, raw_omics)
    first = sorted(splits["split"].astype(str).unique())[0]
    out = cv_fold(matrices, splits, [first], raw_samples, raw_omics, settings, files=files, edges={})
    return settings, matrices, raw_samples, raw_omics, files, out["predictions"]


def test_small_collection_runs_through_the_hierarchical_strategy_in_a_fold(project, caplog):
    _cohort(project, _small_gmt())
    with caplog.at_level(logging.WARNING, logger="moflow"):
        settings, matrices, raw_samples, raw_omics, files, preds = _fold(project)
    assert "hierarchical" in set(preds["strategy"])
    # the protein layer keeps no set of at least 5 members: left out, with the reason in the log
    assert re.search(r"layer protein left out: no gene set of demo has between 5 and 500 members", caplog.text)
    out = integrate_hierarchical(matrices, raw_samples, raw_omics, files, {}, settings)
    coefs = out["coefficients"]
    left = coefs[coefs["source"] == "left out"]
    assert list(left["layer"]) == ["protein"]
    assert "no gene set of demo has between 5 and 500 members among the layer's 4 genes" in left["feature"].iloc[0]
    assert set(coefs.loc[coefs["source"] != "left out", "layer"]) == {"rna"}
    page = hierarchical_html(coefs, pd.DataFrame({"strategy": []}))
    assert "Layers left out of the hierarchical strategy: <b>protein</b>: no gene set of demo" in page
    assert "left out" not in hierarchical_html(coefs[coefs["source"] != "left out"], pd.DataFrame({"strategy": []}))
    assert "<b>protein</b>" in hierarchical_sentence(coefs)


def test_every_layer_left_out_leaves_the_strategy_out_of_the_scoreboard(project, caplog):
    # every set has 4 members: none reaches integration: hierarchical: min_size (5) in any layer
    gmt = "\n".join(f"SET_{k}\tna\t" + "\t".join(f"GENE{i:04d}" for i in range(4 * k, 4 * k + 4)) for k in range(20))
    _cohort(project, gmt + "\nPROTEINS\tna\tTP53\tEGFR\tMYC\tKRAS\n")
    with caplog.at_level(logging.WARNING, logger="moflow"):
        settings, matrices, raw_samples, raw_omics, files, preds = _fold(project)  # no error mid-run
    assert "hierarchical" not in set(preds["strategy"])
    assert "hierarchical integration left out of the scoreboard: every layer is left out (layer rna:" in caplog.text
    out = integrate_hierarchical(matrices, raw_samples, raw_omics, files, {}, settings)
    assert list(out["coefficients"]["layer"]) == ["rna", "protein"]
    assert set(out["coefficients"]["source"]) == {"left out"}
    assert list(out["scores"].columns) == ["sample"]
    page = hierarchical_html(out["coefficients"], pd.DataFrame({"strategy": []}))
    assert "The strategy is not in the scoreboard: every layer is left out." in page
    assert "<b>rna</b>: no gene set of demo has between 5 and 500 members" in page
    assert "Hierarchical integration left out" in hierarchical_sentence(out["coefficients"])


def test_build_prior_ignores_the_coverage_share(project):
    """The 5% rule that stopped every cv_fold job no longer applies to the hierarchical strategy."""
    _cohort(project, _small_gmt())
    settings, _, omics = project.startup()
    _, _, matrices, _ = project.inputs()
    files = io.read_enrichment_files(settings.enrichment, omics)
    prior = build_prior(omics, settings, files, {}, {n: list(X.columns) for n, X in matrices.items()})
    assert [(name, layers) for name, _, layers in prior["collections"]] == [("demo", ("rna",))]
    assert set(prior["left_out"]) == {"protein"}
    assert "hierarchical" in build_strategies(omics, settings, prior=prior)
