"""One source of settings: the schema's defaults, a frozen settings object, and rules that pass
every section their package function reads."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moflow import settings as st
from moflow.errors import ConfigError, InputError
from moflow.settings import Settings, apply_defaults, default_config, sections_of

ROOT = Path(__file__).resolve().parents[2]


def test_schema_fills_every_field():
    s = Settings.defaults()
    assert s.integration.mofa.factors == 8 and s.integration.mofa.stability_seeds == 2
    assert s.batch_confounding.allow is False and s.batch_confounding.max_association == 0.8
    assert s.kind_defaults["proteomics_intensity"]["impute"]["method"]
    assert s.outcome.positive is None


def test_dataclasses_hold_no_default_of_their_own():
    """The schema is the only place a default lives."""

    def walk(cls):
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, (cls, f.name)
            tp = f.type if not isinstance(f.type, str) else None
            if tp is not None and dataclasses.is_dataclass(tp):
                walk(tp)

    for cls in (Settings, st.Integration, st.Mofa, st.Early, st.Enrichment, st.EnrichmentLayer, st.Evaluation):
        walk(cls)


def test_settings_are_frozen():
    s = Settings.defaults()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 1
    with pytest.raises(TypeError):
        s.kind_defaults["rnaseq_counts"]["filter"]["top_variable"] = 10
    # what estimators get is a plain copy
    assert isinstance(s.layer_overrides("rna"), dict)


def test_a_key_missing_from_a_validated_config_is_an_error():
    config = default_config()
    del config["integration"]["mofa"]["factors"]
    with pytest.raises(ConfigError, match=r"integration\.mofa\.factors' is missing"):
        Settings.from_config(config)


def test_a_section_not_passed_names_itself():
    config = default_config()
    partial = Settings.from_config(sections_of(config, ["outcome", "seed"]))
    assert partial.outcome.column == "outcome"
    with pytest.raises(ConfigError, match=r"section 'batch_confounding' was not passed"):
        _ = partial.batch_confounding.allow


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"integraton": {}}, r"unknown key 'integraton' \(did you mean 'integration'\?\)"),
        ({"evaluation": {"folds": 1}}, r"evaluation: folds: 1 is less than the minimum of 2"),
        ({"outcome": {"type": "binomial"}}, r"outcome: type is 'binomial', which is not one of .*binary"),
        ({"preprocess": {"rna": {"impute": {"method": "knnn"}}}}, r"Did you mean 'knn'\?"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(bad, message):
    config = {"samples": "s.tsv", "omics": "o.tsv", "outcome": {}, **bad}
    with pytest.raises(ConfigError, match=message) as err:
        apply_defaults(config, source="config/config.yaml")
    assert str(err.value).startswith("config/config.yaml")
    assert len(str(err.value)) < 600  # one line per problem, never the schema


# --------------------------------------------------------------------------------------------
# rules pass what their package function reads
# --------------------------------------------------------------------------------------------


def _rules():
    """{rule: (script, the tasks of its settings_for(...) or None)} from rules/*.smk."""
    out = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=rule \w+:)", text):
            m = re.match(r"rule (\w+):", block)
            if not m:
                continue
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+)\.py"', block)
            target = re.search(r"settings=settings_for\(([^)]*)\)", block)
            tasks = sorted(re.findall(r"tasks\.(\w+)", target.group(1))) if target else None
            out[m.group(1)] = (script.group(1) if script else None, tasks)
    return out


def _task_calls(script: Path) -> list[str]:
    """The moflow.tasks functions a script imports (from the face, ``from moflow.tasks import f``) and calls."""
    tree = ast.parse(script.read_text())
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("moflow.tasks"):
            assert node.module == "moflow.tasks", f"{script.name} imports from {node.module}, not the face moflow.tasks"
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return [imported[n] for n in imported if n in called]


WITHOUT_SETTINGS = {"predict"}  # rules/model.smk: scoring new samples in a folder of their own


def test_every_rule_passes_the_sections_its_task_reads():
    """A rule's params.settings are the sections of exactly the package functions its script calls
    (one for most rules; a merged job such as fit_cohort or report calls one per step)."""
    from moflow import tasks

    rules = _rules()
    assert {"validate_inputs", "fit_cohort", "cv_fold", "report"} <= set(rules)
    checked = 0
    for rule, (script, target) in rules.items():
        if script is None:
            continue
        calls = sorted(_task_calls(ROOT / "scripts" / f"{script}.py"))
        assert calls, f"scripts/{script}.py makes no package call (moflow.tasks)"
        if rule in WITHOUT_SETTINGS:  # no training config in its folder: the bundle holds the settings
            assert target is None and not any(getattr(tasks, c).__dict__.get("reads") for c in calls), rule
            continue
        assert target is not None, f"rule {rule} passes no settings=settings_for(...)"
        assert target == calls, f"rule {rule} passes the sections of {target}, its script calls {calls}"
        for name in target:
            assert set(getattr(tasks, name).reads) <= set(st.SECTIONS)
        checked += 1
    assert checked >= 6


def test_reads_cover_what_the_factories_touch(cohort):
    """A factory run on settings holding only its declared sections works (an undeclared section
    would raise): the preprocessors of every layer, the strategies, MOFA."""
    from moflow.cohort import sample_info
    from moflow.integrate import build_mofa, build_strategies
    from moflow.preprocess import build_preprocessors

    full = default_config(integration={"mofa": {"groups": ""}})
    omics = pd.DataFrame(
        {
            "layer": ["rna", "protein"],
            "kind": ["rnaseq_counts", "proteomics_intensity"],
            "batch_column": ["batch", "batch"],
            "log_scale": ["false", "true"],
        }
    )
    only = lambda fn: Settings.from_config(sections_of(full, fn.reads))  # noqa: E731
    info = sample_info(cohort.sheet, Settings.defaults())
    pps = build_preprocessors(omics, only(build_preprocessors), info)
    assert set(pps) == {"rna", "protein"}
    strategies = build_strategies(omics, only(build_strategies), "classification")
    assert strategies["mofa"]().mofa.n_factors == 8
    assert build_mofa(omics, only(build_mofa)).n_factors == 8


def test_package_code_never_reads_config_with_a_default():
    for path in (ROOT / "src" / "moflow").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"config(\[[^\]]+\])*\.get\(", text), f"{path}: config.get(...)"
        sections = "|".join(s for s in st.SECTIONS if s not in ("samples", "omics"))  # labels.get("samples")
        assert not re.search(rf"(?<!tables)\.get\(\"({sections})\"", text), path


# --------------------------------------------------------------------------------------------
# the fix that motivated all this: batch_confounding reaches every fold
# --------------------------------------------------------------------------------------------


def _confounded(cohort):
    sheet = cohort.sheet.copy()
    is_sample = sheet["sample_type"] == "sample"
    batches = sorted(sheet.loc[is_sample, "batch"].unique())
    # the outcome goes with batch (Cramér's V above 0.8), without being identical to it
    rng = np.random.default_rng(0)
    first = (sheet.loc[is_sample, "batch"] == batches[0]).to_numpy()
    flip = rng.random(is_sample.sum()) < 0.04
    flip[np.flatnonzero(first)[:2]] = True
    sheet.loc[is_sample, "outcome"] = np.where(first ^ flip, "case", "control")
    omics = pd.DataFrame(
        [
            {
                "layer": "protein",
                "kind": "proteomics_intensity",
                "path": "p.csv",
                "orientation": "samples_in_rows",
                "batch_column": "batch",
                "has_qc": "false",
                "log_scale": "true",
                "gene_ids": "none",
            }
        ]
    )
    return sheet, omics


@pytest.mark.parametrize("allow", [False, True])
def test_batch_confounding_allow_reaches_every_fold(cohort, allow):
    from moflow.evaluate import make_splits
    from moflow.tasks import cv_fold

    sheet, omics = _confounded(cohort)
    full = default_config(batch_confounding={"allow": allow})
    settings = Settings.from_config(sections_of(full, cv_fold.reads))
    y = sheet.loc[sheet["sample_type"] == "sample"].set_index("sample")["outcome"]
    splits = make_splits(y, folds=3, repeats=1, seed=0)
    raw = {"protein": cohort.layers["protein"]}
    if not allow:
        with pytest.raises(InputError, match="batch and outcome are confounded"):
            cv_fold(raw, splits, ["r1f1"], sheet, omics, settings)
        return
    pred = cv_fold(raw, splits, ["r1f1"], sheet, omics, settings)["predictions"]
    held = splits[(splits["split"] == "r1f1") & (splits["role"] == "test")]["sample"]
    assert set(pred["sample"]) == set(held) and pred["p_case"].notna().all()
