"""The report: its verdict (numbers checked against the tables it reads) for every outcome type and a
one-layer cohort, the page's structure (sections, sortable tables in scrolling boxes, nothing drawn
without information, nothing fetched), and the page in a real browser (headless Chromium)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from report_browser import assert_clean, open_report
from report_tables import LAYERS, METRIC, board, comparison, permutation, sections, tables

from moflow.report import build_html, chance_level, verdict, verdict_html, verdict_sentence

CASES = ["binary", "multiclass", "continuous", "survival", "one_layer"]


def _verdict(case: str) -> dict:
    t = tables(case)
    return verdict(
        board=t["board"],
        layers=t["layers"],
        comparison=t["comparison"],
        permutation=t["permutation"],
        late_weights=t["late_weights"],
        variance=t["variance"],
        associations=t["associations"],
        outcome_column=t["outcome_column"],
        pathways=(t["enrichment_more"] or {}).get("pathways"),
        n_classes=3 if case == "multiclass" else 2 if METRIC[case] == "balanced_accuracy" else None,
    )


@pytest.mark.parametrize("case", CASES)
def test_verdict_numbers_are_the_tables(case):
    v = _verdict(case)
    b, c = board(case), comparison(case).iloc[0]
    metric = METRIC[case]
    best = b.iloc[0]
    s = verdict_sentence(v)
    # the best strategy, its score and interval, as the scoreboard has them
    label = {"harrell_c": "Harrell's C", "r2": "R2"}.get(metric, metric.replace("_", " "))
    assert s.startswith(
        f"{best['strategy']} predicts best ({label} {best[metric]:.3f}, "
        f"95% interval {best[metric + '_lo']:.3f}-{best[metric + '_hi']:.3f}"
    )
    # the gain over the best single layer and its test, as comparison.tsv has them
    assert f"{c['difference']:+.3f}" in s and f"p = {c['p']:.2g}" in s and c["best_single_layer"] in s
    assert v["comparison"]["significant"] == (c["p"] < 0.05)
    assert ("not significant" in s) == (c["p"] >= 0.05)
    # the effective sample size: events for survival, the smallest class for classes, else every sample
    eff = {
        "survival": "37 events of 90",
        "continuous": "90 samples",
        "multiclass": "25 samples in the smallest class",
        "binary": "30 samples in the smallest class",
        "one_layer": "30 samples in the smallest class",
    }[case]
    assert f"effective sample size {eff}" in s
    # better than chance: the permutation test where it ran, else the interval against the chance level
    perm = permutation(case)
    if perm is not None:
        assert f"permutation p = {perm.iloc[0]['p']:.2g}" in s and v["beats_chance"]
    else:
        level = chance_level(metric, 3 if case == "multiclass" else None)
        assert v["beats_chance"] == (best[metric + "_lo"] > level)
        assert f"chance level {level:.2g}" in s


def test_verdict_names_who_wins_when_a_single_layer_beats_integration():
    s = verdict_sentence(_verdict("multiclass"))
    c = comparison("multiclass").iloc[0]
    assert s.startswith("single_rna predicts best")
    assert (
        f"the best integration, {c['best_integration']}, scores {c['difference']:+.3f} against the best single "
        f"layer, {c['best_single_layer']}" in s
    )


def test_verdict_of_a_one_layer_cohort_has_no_layer_weights():
    v = _verdict("one_layer")
    assert v["single_layer_cohort"] and v["late"] is None
    assert "on this one-layer cohort mofa differs from the layer's own model (single_protein)" in verdict_sentence(v)
    assert "Integration vs this layer alone" in verdict_html(v)


def test_verdict_layers_and_programs_come_from_their_tables():
    t = tables("binary")
    v = _verdict("binary")
    w = t["late_weights"]
    shares = dict(zip(w["layer"], w["meta_weight"] / w["meta_weight"].sum()))
    assert [layer for layer, _ in v["late"]] == sorted(shares, key=shares.get, reverse=True)
    assert all(abs(share - shares[layer]) < 1e-12 for layer, share in v["late"])
    # the factor most associated with the outcome and its variance explained per layer
    a = t["associations"]
    assert v["factor"]["factor"] == a.sort_values("p").iloc[0]["factor"]
    var = t["variance"]
    assert dict(v["factor"]["r2"]) == dict(
        zip(var.loc[var["factor"] == "Factor1", "view"], var.loc[var["factor"] == "Factor1", "r2"])
    )
    # the best strategy (early) has pathways of its own: those, significant ones only, smallest FDR first
    assert v["programs"]["source"] == "early"
    assert [i["term"] for i in v["programs"]["items"]] == ["SET_EARLY_A", "SET_EARLY_B"]
    html = verdict_html(v)
    assert "SET_EARLY_A" in html and "SET_EARLY_NS" not in html and "SET_MOFA" not in html
    assert "rna 75%" in html and "protein 25%" in html  # rna 0.6, protein 0.2 of 0.8


def test_verdict_screen_comes_first_with_the_design_sentence():
    design = {"html": "<p>power curves here</p>", "sentence": "About 120 samples reach 80% power."}
    sec = sections("binary", design=design)
    titles = [t for t, _ in sec]
    assert titles[0] == "Verdict"
    assert titles.index("How many samples?") == titles.index("Evaluation") + 1
    assert design["sentence"] in sec[0][1]
    assert "How many samples?" not in [t for t, _ in sections("binary")]


@pytest.mark.parametrize("case", CASES)
def test_page_structure(case):
    sec = sections(case)
    page = build_html(title="t", sections=sec)
    body = dict(sec)
    # every table sorts and scrolls inside its own box
    assert page.count("<table") == page.count('<div class="tw"><table class="tbl sortable">')
    # one self-contained file: no script, style, font or image fetched from anywhere
    assert not re.search(r'(src|href)=["\']?(https?:)?//', page) and "<link" not in page and "@import" not in page
    # nothing drawn without information: no missingness map of a layer without missing values
    first = LAYERS[case][0]  # report_tables: the first layer has no missing values, the others 12%
    assert "No missing values in the raw layer" in body["Preprocessing"]
    assert f"missingness map of {first}" not in body["Preprocessing"]
    for layer in LAYERS[case][1:]:
        assert f"missingness map of {layer}" in body["Preprocessing"]
    # interactive figures: PCA per layer and the MOFA factor scatter, a tooltip per sample
    assert body["Preprocessing"].count("<svg") == 4 * len(LAYERS[case])  # 2 stages x (batch, outcome)
    assert body["Intermediate integration (MOFA)"].count('<circle class="pt"') == 90
    assert "<svg" in body["Evaluation"] and "<svg" in body["Verdict"]
    if case == "one_layer":
        assert "Skipped: late, mixed and early integration combine layers" in body["Late integration"]


@pytest.mark.parametrize("case", ["binary", "survival", "one_layer"])
def test_report_in_a_browser(case, tmp_path):
    """The in-memory report in headless Chromium: no JavaScript error, no broken image, nothing
    fetched, the verdict first, tables that sort, samples that light up on hover. Screenshots in
    tmp_path."""
    path = tmp_path / "report.html"
    path.write_text(build_html(title=f"moflow report ({case})", sections=sections(case)))
    seen = open_report(path, tmp_path, name=case)
    assert_clean(seen)
    assert seen["verdict_text"].startswith(board(case).iloc[0]["strategy"] + " predicts best")
    assert (tmp_path / f"{case}_first_screen.png").stat().st_size > 10_000


def test_table_sorts_numbers_as_numbers():
    from moflow.report import table

    html = table(pd.DataFrame({"name": ["a", "b"], "p": [1e-10, 0.5], "n": [10, 9]}))
    assert 'data-v="1e-10"' in html and 'data-v="10"' in html and '<td class="n" data-v="0.5">0.5</td>' in html
    assert '<th class="n">p</th>' in html and "<th>name</th>" in html
    long = table(pd.DataFrame({"x": range(300)}), max_rows=200)
    assert "100 more rows not shown (of 300)" in long


def test_every_report_figure_has_a_caption_and_a_category():
    """`snakemake --report` shows each report() output with its caption, under its stage's category."""
    from pathlib import Path

    rules = Path(__file__).resolve().parents[2] / "rules"
    found = 0
    for smk in sorted(rules.glob("*.smk")):
        for m in re.finditer(r"report\(\s*(.*?)\n\s*\),", smk.read_text(), re.S):
            body = m.group(1)
            caption, category = re.search(r'caption="([^"]+)"', body), re.search(r'category="([^"]+)"', body)
            assert caption and (rules / caption.group(1)).is_file(), f"{smk.name}: {body[:80]} has no caption file"
            assert category, f"{smk.name}: {body[:80]} has no category"
            found += 1
    assert found >= 10
