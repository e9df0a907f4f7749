"""The hostile-input battery: every bad input stops early with a message naming the file, the line or
the sample/feature ID, and the fix.

Each case builds a tiny project in tmp_path (sample sheet, omics sheet, three matrices, a GMT, the
config), breaks one thing and runs the function the workflow runs at that point:

* ``yaml``: :func:`moflow.inputs.startup.check_config_file` (the Snakefile, before ``configfile:``);
* ``config``: :func:`moflow.settings.apply_defaults` (``rules/common.smk``, before Snakemake's validate);
* ``startup``: the whole start-up of ``rules/common.smk``: the two above, then
  :func:`moflow.inputs.startup.check_startup`;
* ``inputs``: the start-up, then :func:`moflow.tasks.inputs_rules.validate_inputs` on the files as
  :func:`moflow.io.read_raw_table` reads them (rule validate_inputs).

A case asserts the error class (ConfigError for configuration and the omics sheet, DataError for data)
and regexes on the message.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from moflow import io
from moflow.errors import ConfigError, DataError, InputError
from moflow.inputs import anndata_sources, check_config_file, check_startup, gene_set_layers
from moflow.settings import Settings, apply_defaults
from moflow.tasks import validate_inputs

SAMPLES = [f"S{i:02d}" for i in range(1, 13)]
QCS = ["QC1", "QC2", "QC3"]
GENES = ["TP53", "EGFR", "MYC", "GAPDH", "ACTB", "BRCA1"]
PROTEINS = ["TP53", "EGFR", "MYC", "KRAS"]
METABOLITES = ["M1", "M2", "M3", "M4"]
GMT = "SET_A\tna\tTP53\tEGFR\tMYC\nSET_B\tna\tGAPDH\tACTB\tKRAS\n"


class Project:
    """A tiny valid project; cases change one thing, then run a stage."""

    def __init__(self, root: Path):
        self.root = root
        rng = np.random.default_rng(0)
        self.sheet = pd.DataFrame(
            {
                "sample": SAMPLES + QCS,
                "sample_type": ["sample"] * 12 + ["qc"] * 3,
                "outcome": ["control", "case"] * 6 + [""] * 3,
                "batch": ["b1"] * 6 + ["b2"] * 6 + ["b1"] * 3,
                "injection_order": [str(i) for i in range(1, 16)],
                "split": ["train"] * 12 + [""] * 3,
            }
        )
        self.omics = pd.DataFrame(
            [
                ["rna", "rnaseq_counts", "data/rna.tsv", "features_in_rows", "batch", "false", "false", "symbol"],
                [
                    "protein",
                    "proteomics_intensity",
                    "data/protein.csv",
                    "samples_in_rows",
                    "batch",
                    "false",
                    "true",
                    "symbol",
                ],
                [
                    "metab",
                    "metabolomics_intensity",
                    "data/metab.parquet",
                    "samples_in_rows",
                    "",
                    "true",
                    "false",
                    "none",
                ],
            ],
            columns=["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"],
        )
        self.rna = pd.DataFrame(rng.integers(0, 500, (12, len(GENES))), index=SAMPLES, columns=GENES).astype(str)
        self.protein = pd.DataFrame(
            rng.uniform(10, 20, (12, len(PROTEINS))).round(3), index=SAMPLES, columns=PROTEINS
        ).astype(str)
        self.metab = pd.DataFrame(
            rng.uniform(1e3, 1e4, (15, len(METABOLITES))), index=SAMPLES + QCS, columns=METABOLITES
        )
        self.gmt = GMT
        self.config = {
            "samples": "config/samples.tsv",
            "omics": "config/omics.tsv",
            "outcome": {"column": "outcome", "positive": "case"},
            "evaluation": {"folds": 3, "repeats": 1},
            "enrichment": {"gene_sets": {"demo": "data/sets.gmt"}, "min_size": 2},
        }
        self.texts: dict[str, str | bytes] = {}  # file (relative) -> content written as is, after the rest
        self.sheet_comment = "# the tiny cohort\n"
        self.h5mu = False  # also write the cohort as one MuData file, data/cohort.h5mu (as_h5mu)
        self.obs_extra: dict = {}  # obs column -> fn(obs names) -> values, added to the MuData's obs
        self.h5ad: dict[str, bool] = {}  # layer -> transposed: also written as data/<layer>.h5ad (h5ad_layer)

    def continuous_layers(self, samples: list[str], layers: dict) -> None:
        """Replace the layers by continuous (log-scale) ones: {name: (samples x features array, feature prefix,
        batch column)}, each written as ``data/<name>.csv``, samples in rows."""
        self.omics = pd.DataFrame(
            [
                [name, "continuous", f"data/{name}.csv", "samples_in_rows", batch, "false", "true", "none"]
                for name, (_, _, batch) in layers.items()
            ],
            columns=["layer", "kind", "path", "orientation", "batch_column", "has_qc", "log_scale", "gene_ids"],
        )
        for name, (X, prefix, _) in layers.items():
            columns = [f"{prefix}{j}" for j in range(X.shape[1])]
            self.texts[f"data/{name}.csv"] = (
                pd.DataFrame(X.round(5), index=samples, columns=columns).rename_axis("sample").to_csv()
            )

    # -- files --------------------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def write(self) -> None:
        for d in ("config", "data"):
            self.path(d).mkdir(exist_ok=True)
        self.path("config/samples.tsv").write_text(self.sheet_comment + self.sheet.to_csv(sep="\t", index=False))
        self.omics.to_csv(self.path("config/omics.tsv"), sep="\t", index=False)
        self.rna.T.rename_axis("gene").to_csv(self.path("data/rna.tsv"), sep="\t")
        self.protein.rename_axis("sample").to_csv(self.path("data/protein.csv"))
        self.metab.rename_axis("sample").to_parquet(self.path("data/metab.parquet"))
        self.path("data/sets.gmt").write_text(self.gmt)
        self.path("config/config.yaml").write_text(yaml.safe_dump(self.config, sort_keys=False))
        if self.h5mu:
            write_cohort_h5mu(
                self.path("data/cohort.h5mu"),
                self.sheet,
                {"rna": self.rna, "protein": self.protein, "metab": self.metab},
                obs_extra=self.obs_extra,
            )
        for layer, transposed in self.h5ad.items():
            import anndata

            X = getattr(self, layer).astype(float)
            X = X.T if transposed else X
            anndata.AnnData(
                X=X.to_numpy(),
                obs=pd.DataFrame(index=X.index.astype(str)),
                var=pd.DataFrame(index=X.columns.astype(str)),
            ).write_h5ad(self.path(f"data/{layer}.h5ad"))
        for rel, content in self.texts.items():
            p = self.path(rel)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content)

    def text(self, rel: str) -> str:
        """The content a file would have (write() first)."""
        self.write()
        return self.path(rel).read_text()

    # -- stages (what the workflow runs, in its order) -----------------------------------------

    def settings(self) -> Settings:
        cfg_path = str(self.path("config/config.yaml"))
        check_config_file(cfg_path)  # the Snakefile, before configfile:
        config = yaml.safe_load(self.path("config/config.yaml").read_text())
        config = {
            k: (str(self.root / v) if k in ("samples", "omics") and isinstance(v, str) else v)
            for k, v in config.items()
        }
        return Settings.from_config(apply_defaults(config, source=cfg_path))

    def startup(self):
        """rules/common.smk: apply_defaults, then check_startup (paths resolved from the project)."""
        self.write()
        settings = self.settings()
        en = settings.enrichment
        rel = {name: str(self.root / p) for name, p in en.gene_sets.items()}
        cfg = _with_gene_sets(settings, rel)
        samples, omics = check_startup(cfg, source=str(self.path("config/config.yaml")))
        return cfg, samples, omics

    def inputs(self):
        """rule validate_inputs, after the start-up."""
        settings, _, omics = self.startup()
        gmt_layers = gene_set_layers(omics, settings.enrichment)
        raw_omics = io.read_sheet(self.path("config/omics.tsv"))
        paths = {row["layer"]: str(self.root / row["path"]) for _, row in raw_omics.iterrows()}
        labels = {
            "samples": "config/samples.tsv",
            "omics": "config/omics.tsv",
            **{row["layer"]: row["path"] for _, row in raw_omics.iterrows()},
        }
        labels["samples"] = self.config["samples"]
        return validate_inputs(
            io.read_sheet(self.path(self.config["samples"])),
            raw_omics,
            io.LazyTables(paths, anndata_sources(raw_omics)),
            settings,
            labels=labels,
            gmt_lines={p: io.read_gmt_lines(p) for p in gmt_layers},
            gmt_layers=gmt_layers,
        )


def write_cohort_h5mu(
    path: Path, sheet: pd.DataFrame, layers: dict[str, pd.DataFrame], *, obs_extra: dict | None = None
) -> None:
    """The cohort as a MuData file, as a scverse user keeps it: one modality per layer (samples as obs,
    numbers in X), the sample sheet as the global obs (injection order as integers); ``obs_extra``:
    {column: fn(obs names) -> values} added to obs."""
    import anndata
    import mudata

    mudata.set_options(pull_on_update=False)
    mods = {
        name: anndata.AnnData(
            X=X.astype(float).to_numpy(),
            obs=pd.DataFrame(index=X.index.astype(str)),
            var=pd.DataFrame(index=X.columns.astype(str)),
        )
        for name, X in layers.items()
    }
    md = mudata.MuData(mods)
    obs = sheet.set_index("sample").reindex(md.obs_names)
    obs["injection_order"] = pd.to_numeric(obs["injection_order"], errors="coerce").astype("Int64")
    for col, fn in (obs_extra or {}).items():
        obs[col] = fn(list(obs.index))
    md.obs = obs
    md.write_h5mu(str(path))


def _with_gene_sets(settings: Settings, gene_sets: dict) -> Settings:
    import dataclasses
    from types import MappingProxyType

    en = dataclasses.replace(settings.enrichment, gene_sets=MappingProxyType(gene_sets))
    return dataclasses.replace(settings, enrichment=en)


# ---------------------------------------------------------------------------------------------
# helpers that break one thing
# ---------------------------------------------------------------------------------------------


def lines_edit(rel: str, fn):
    """Rewrite a written text file line by line: fn(list of lines) -> list of lines."""

    def breaker(p: Project):
        text = p.text(rel)
        p.texts[rel] = "\n".join(fn(text.splitlines())) + "\n"

    return breaker


def set_line(n: int, fn):
    """fn applied to line n (1-based)."""

    def edit(lines):
        lines[n - 1] = fn(lines[n - 1])
        return lines

    return edit


def cell(frame: str, row, col, value):
    def breaker(p: Project):
        getattr(p, frame).loc[row, col] = value

    return breaker


def omics_cell(layer: str, col: str, value):
    def breaker(p: Project):
        p.omics.loc[p.omics["layer"] == layer, col] = value

    return breaker


def sheet_cell(sample: str, col: str, value):
    def breaker(p: Project):
        p.sheet.loc[p.sheet["sample"] == sample, col] = value

    return breaker


def config(**changes):
    def breaker(p: Project):
        for key, value in changes.items():
            *parents, last = key.split("__")
            d = p.config
            for k in parents:
                d = d.setdefault(k, {})
            d[last] = value

    return breaker


def both(*fns):
    def breaker(p: Project):
        for fn in fns:
            fn(p)

    return breaker


def rename_features(frame: str, mapping: dict):
    def breaker(p: Project):
        setattr(p, frame, getattr(p, frame).rename(columns=mapping))

    return breaker


def rename_samples(frame: str, mapping: dict):
    def breaker(p: Project):
        setattr(p, frame, getattr(p, frame).rename(index=mapping))

    return breaker


def drop_samples(frame: str, ids):
    def breaker(p: Project):
        setattr(p, frame, getattr(p, frame).drop(index=ids))

    return breaker


def raw(rel: str, content):
    def breaker(p: Project):
        p.texts[rel] = content

    return breaker


def gz_rna(truncate: bool):
    """rna as a gzipped TSV (optionally cut short), the omics sheet pointing to it."""

    def breaker(p: Project):
        p.omics.loc[p.omics["layer"] == "rna", "path"] = "data/rna.tsv.gz"
        text = pd.concat([p.rna.T] * 1).rename_axis("gene").to_csv(sep="\t")
        text += "".join(f"EXTRA{i}\t" + "\t".join(str(i % 97) for _ in SAMPLES) + "\n" for i in range(3000))
        data = gzip.compress(text.encode())
        p.texts["data/rna.tsv.gz"] = data[: len(data) // 2] if truncate else data

    return breaker


def survival_outcome(bad: dict | None = None, events: int | None = None):
    """The outcome as follow-up time (years) and a true/false event column; ``bad``: {sample: (time,
    event)} overrides; ``events``: how many cohort samples have the event (the others censored)."""

    def breaker(p: Project):
        cohort = p.sheet["sample_type"] == "sample"
        p.sheet["years"] = np.where(cohort, [f"{1 + 0.5 * i:.1f}" for i in range(len(p.sheet))], "")
        n = 8 if events is None else events
        ev = ["true" if i < n else "false" for i in range(int(cohort.sum()))]
        p.sheet["died"] = ""
        p.sheet.loc[cohort, "died"] = ev
        for sample, (t, e) in (bad or {}).items():
            row = p.sheet["sample"] == sample
            if t is not None:
                p.sheet.loc[row, "years"] = t
            if e is not None:
                p.sheet.loc[row, "died"] = e
        p.config["outcome"] = {"type": "survival", "time": "years", "event": "died"}

    return breaker


def regulators(content: str | None, layer: str = "rna"):
    """A hierarchical regulator edge list (content None: the file named but absent)."""

    def breaker(p: Project):
        p.config.setdefault("integration", {})["hierarchical"] = {
            "regulators": {"tf": {"edges": str(p.root / "data/edges.tsv"), "layer": layer}}
        }
        if content is not None:
            p.texts["data/edges.tsv"] = content

    return breaker


def mark_test(n_test: int, first=True):
    """Mark n cohort samples as external test (evaluation: test_column split)."""

    def breaker(p: Project):
        ids = SAMPLES[:n_test] if first else SAMPLES[-n_test:]
        p.sheet.loc[p.sheet["sample"].isin(ids), "split"] = "test"
        p.config["evaluation"].update({"test_column": "split", "test_value": "test"})

    return breaker


def as_h5mu(p: Project):
    """The cohort as one MuData file: modalities rna, protein, metab; obs the sample sheet."""
    p.h5mu = True
    p.config["samples"] = "data/cohort.h5mu"
    p.omics["path"] = "data/cohort.h5mu"
    p.omics["orientation"] = ""


def h5ad_layer(layer: str, *, transposed: bool = False):
    """A layer as an AnnData file, data/<layer>.h5ad (optionally with samples as var)."""

    def breaker(p: Project):
        p.h5ad[layer] = transposed
        p.omics.loc[p.omics["layer"] == layer, ["path", "orientation"]] = [f"data/{layer}.h5ad", ""]

    return breaker


def only_class(value: str, samples=SAMPLES):
    def breaker(p: Project):
        p.sheet.loc[p.sheet["sample"].isin(samples), "outcome"] = value

    return breaker


def continuous_outcome(declared: str = "continuous", bad: dict | None = None):
    def breaker(p: Project):
        p.sheet.loc[p.sheet["sample"].isin(SAMPLES), "outcome"] = [f"{1.5 * i:.1f}" for i in range(12)]
        for s, v in (bad or {}).items():
            p.sheet.loc[p.sheet["sample"] == s, "outcome"] = v
        p.config["outcome"] = {"column": "outcome", "type": declared}

    return breaker


# ---------------------------------------------------------------------------------------------
# the battery: id -> (stage, breaker, error class, regexes the message must match)
# ---------------------------------------------------------------------------------------------

P, R, S, OM, C, M = (
    r"data/protein\.csv",
    r"data/rna\.tsv",
    r"samples\.tsv",
    r"omics\.tsv",
    r"config\.yaml",
    r"data/metab\.parquet",
)
H = r"data/cohort\.h5mu"

CASES = {
    # 1. ragged rows, both directions, in every file type we parse as text
    "ragged: matrix row with more fields": (
        "inputs",
        lines_edit("data/protein.csv", set_line(4, lambda s: s + ",1.5")),
        DataError,
        [P + r", line 4: 6 field\(s\) where the header \(line 1\) has 5", "more fields", "quoted"],
    ),
    "ragged: matrix row with fewer fields": (
        "inputs",
        lines_edit("data/protein.csv", set_line(3, lambda s: s.rsplit(",", 1)[0])),
        DataError,
        [P + r", line 3: 4 field\(s\)", "fewer fields", "write NA"],
    ),
    "ragged: last line short, no newline": (
        "inputs",
        lambda p: p.texts.update({"data/protein.csv": p.text("data/protein.csv").rstrip("\n").rsplit(",", 1)[0]}),
        DataError,
        [P + r", line 13: ", "fewer"],
    ),
    "ragged: TSV feature row with more fields": (
        "inputs",
        lines_edit("data/rna.tsv", set_line(5, lambda s: s + "\t7")),
        DataError,
        [R + r", line 5: 14 field\(s\) where the header \(line 1\) has 13"],
    ),
    "ragged: TSV row with fewer fields": (
        "inputs",
        lines_edit("data/rna.tsv", set_line(2, lambda s: "\t".join(s.split("\t")[:-2]))),
        DataError,
        [R + r", line 2: 11 field\(s\)", "fewer"],
    ),
    "ragged: extra separator at line end": (
        "inputs",
        lines_edit("data/protein.csv", set_line(7, lambda s: s + ",")),
        DataError,
        [P + r", line 7", "extra separator"],
    ),
    "ragged: R write.table header": (
        "inputs",
        lines_edit("data/rna.tsv", set_line(1, lambda s: s.split("\t", 1)[1])),
        DataError,
        [R + r": the header \(line 1\) has 12 fields but every data row has 13", "empty first field"],
    ),
    "ragged: sample sheet row with fewer fields": (
        "startup",
        lines_edit("config/samples.tsv", set_line(6, lambda s: s.rsplit("\t", 2)[0])),
        DataError,
        [S + r", line 6: 4 field\(s\) where the header \(line 2\) has 6"],
    ),
    "ragged: sample sheet row with more fields": (
        "startup",
        lines_edit("config/samples.tsv", set_line(9, lambda s: s + "\textra")),
        DataError,
        [S + r", line 9: 7 field\(s\)", "more fields"],
    ),
    "ragged: omics sheet row with more fields": (
        "startup",
        lines_edit("config/omics.tsv", set_line(3, lambda s: s + "\tx")),
        DataError,
        [OM + r", line 3: 9 field\(s\) where the header \(line 1\) has 8"],
    ),
    # 2. misspelt layer names in config
    "config layer: preprocess protien": (
        "startup",
        config(preprocess={"protien": {"impute": {"method": "knn"}}}),
        ConfigError,
        [
            C,
            r"'preprocess: protien' names no layer of .*omics\.tsv \(layers: rna, protein, metab\)",
            "Did you mean 'protein'",
        ],
    ),
    "config layer: enrichment layers": (
        "startup",
        config(enrichment__layers={"metabs": {"one_to_many": "first"}}),
        ConfigError,
        [r"'enrichment: layers: metabs' names no layer", "Did you mean 'metab'"],
    ),
    "config layer: mofa likelihoods": (
        "startup",
        config(integration={"mofa": {"likelihoods": {"rnaa": "poisson"}}}),
        ConfigError,
        [r"'integration: mofa: likelihoods: rnaa'", "Did you mean 'rna'"],
    ),
    "config layer: early layer_weights": (
        "startup",
        config(integration={"early": {"layer_weights": {"Protein": 2.0}}}),
        ConfigError,
        [r"'integration: early: layer_weights: Protein'", "Did you mean 'protein'"],
    ),
    # 3. unreadable compressed / binary files
    "truncated gzip matrix": (
        "inputs",
        gz_rna(truncate=True),
        DataError,
        [r"data/rna\.tsv\.gz: .*truncated or corrupt", "again"],
    ),
    "gz name, not gzip data": (
        "inputs",
        both(gz_rna(truncate=False), lambda p: p.texts.update({"data/rna.tsv.gz": "gene\tS01\n"})),
        DataError,
        [r"rna\.tsv\.gz: ends in \.gz but is not gzip data"],
    ),
    "unreadable Parquet": (
        "inputs",
        raw("data/metab.parquet", b"PAR1 this is not parquet"),
        DataError,
        [M + r": cannot be read as Parquet", "Write it again"],
    ),
    "Parquet cut short": (
        "inputs",
        lambda p: p.texts.update(
            {"data/metab.parquet": (p.write(), p.path("data/metab.parquet").read_bytes())[1][:200]}
        ),
        DataError,
        [M + r": cannot be read as Parquet"],
    ),
    "matrix not UTF-8": (
        "inputs",
        raw("data/protein.csv", "sample,TP53\nS0\xe9,1\n".encode("latin-1")),
        DataError,
        [P + r", line 2: byte 0xe9 is not UTF-8", "UTF-8"],
    ),
    # 4. outcome classes, folds and the training cohort
    "class smaller than folds in the training cohort": (
        "startup",
        mark_test(8),
        DataError,
        [
            S,
            r"outcome class '(case|control)' has 2 training sample\(s\) \(8 external test sample\(s\) not "
            r"counted\)",
            "fewer than the 3 cross-validation folds",
        ],
    ),
    "continuous outcome with a non-numeric value": (
        "startup",
        continuous_outcome(bad={"S05": "high"}),
        DataError,
        [S + r", row 7: sample 'S05' has the value 'high'", "declares continuous"],
    ),
    "continuous outcome, too few training samples": (
        "startup",
        both(continuous_outcome(), mark_test(10)),
        DataError,
        [r"continuous outcome 'outcome' has 2 training sample\(s\) with a numeric value", "10 external test"],
    ),
    "auto outcome resolving to continuous, too few training samples": (
        "startup",
        both(continuous_outcome("auto"), mark_test(10)),
        DataError,
        [r"continuous outcome 'outcome' has 2 training sample"],
    ),
    "single class among training samples": (
        "startup",
        both(mark_test(6), only_class("case", SAMPLES[6:])),
        DataError,
        [r"a single class \('case'\) among the training samples \(6 external test sample\(s\) not counted\)"],
    ),
    # survival outcomes: time and event columns
    "survival: negative follow-up time": (
        "startup",
        survival_outcome(bad={"S05": ("-1.0", None)}),
        DataError,
        [S + r", row 7: sample 'S05'", "cannot be negative"],
    ),
    "survival: missing follow-up time": (
        "startup",
        survival_outcome(bad={"S03": ("", None)}),
        DataError,
        [S + r", row 5: sample 'S03' has no follow-up time in column 'years'", "Fill in"],
    ),
    "survival: event not binary": (
        "startup",
        survival_outcome(bad={"S02": (None, "dead")}),
        DataError,
        [S + r", row 4: sample 'S02' has the value 'dead' in event column 'died'", "0/1", "true/false"],
    ),
    "survival: no events": (
        "startup",
        survival_outcome(events=0),
        DataError,
        [S, "no event among the 12", "all are censored"],
    ),
    "survival: fewer events than folds": (
        "startup",
        survival_outcome(events=2),
        DataError,
        [S, r"2 event\(s\) among the 12", "fewer than the 3 cross-validation folds", "evaluation: folds"],
    ),
    "survival: event column misspelt": (
        "startup",
        both(survival_outcome(), config(outcome__event="dide")),
        ConfigError,
        [r"event column 'dide'", "Did you mean 'died'"],
    ),
    "survival: random forest model": (
        "startup",
        both(survival_outcome(), config(integration__late={"model": "random_forest"})),
        ConfigError,
        ["integration: late: model", "no survival form", "linear"],
    ),
    # design stage settings
    "design: metric of another outcome type": (
        "startup",
        config(design={"metric": "harrell_c"}),
        ConfigError,
        ["'design: metric' is harrell_c", "class outcome is not scored with", "roc_auc"],
    ),
    "design: a strategy the cohort is not evaluated with": (
        "startup",
        config(design={"strategies": ["single_rnaa"]}),
        ConfigError,
        ["'design: strategies' names 'single_rnaa'", "Did you mean 'single_rna'"],
    ),
    "design: cost of a misspelt layer": (
        "startup",
        config(design={"costs": {"rnaa": 2.0}}),
        ConfigError,
        ["'design: costs: rnaa' names no layer", "Did you mean 'rna'"],
    ),
    # hierarchical strategy: regulator edge lists and collections
    "hierarchical: edge list absent": (
        "startup",
        regulators(None),
        ConfigError,
        ["regulators: tf: edges", "does not exist", "source and target"],
    ),
    "hierarchical: edge list without a target column": (
        "startup",
        regulators("source\tgene\nTF1\tGAPDH\n"),
        DataError,
        ["edges.tsv", "no column 'target'"],
    ),
    "hierarchical: edge sign not a number": (
        "startup",
        regulators("source\ttarget\tsign\nTF1\tGAPDH\t+\nTF1\tACTB\tup\n"),
        DataError,
        ["edges.tsv, line 3", "'up'"],
    ),
    "hierarchical: regulator layer misspelt": (
        "startup",
        regulators("source\ttarget\nTF1\tGAPDH\n", layer="rnaa"),
        ConfigError,
        ["regulators: <name>: layer: rnaa", "Did you mean 'rna'"],
    ),
    "hierarchical: unknown collection": (
        "startup",
        config(integration__hierarchical={"collections": ["hallmark"]}),
        ConfigError,
        ["integration: hierarchical: collections", "'hallmark'", "enrichment: gene_sets"],
    ),
    "single class overall": ("startup", only_class("case"), DataError, [S, r"single class \('case'\)", "two classes"]),
    "binary declared, three classes": (
        "startup",
        both(sheet_cell("S03", "outcome", "unsure"), config(outcome={"column": "outcome", "type": "binary"})),
        ConfigError,
        [r"'outcome: type' is binary but outcome column 'outcome' has 3 classes"],
    ),
    "every sample external test": (
        "startup",
        mark_test(12),
        DataError,
        [r"every cohort sample is an external test sample"],
    ),
    "sample without outcome": (
        "startup",
        sheet_cell("S07", "outcome", "NA"),
        DataError,
        [S + r": sample\(s\) 'S07' \(row 9\) have no value in outcome column 'outcome'"],
    ),
    # 5. Excel-mangled gene symbols
    "Excel: 1-Mar in RNA": (
        "inputs",
        rename_features("rna", {"MYC": "1-Mar"}),
        DataError,
        [R + r": 1 feature ID\(s\) of layer 'rna'", "'1-Mar'", "Re-export", "MARCH1"],
    ),
    "Excel: 2-Sep and 7-Sep in protein": (
        "inputs",
        rename_features("protein", {"MYC": "2-Sep", "KRAS": "7-Sep"}),
        DataError,
        [P + r": 2 feature ID\(s\) of layer 'protein'", "'2-Sep', '7-Sep'", "rename"],
    ),
    "Excel: 01-Mar": ("inputs", rename_features("rna", {"EGFR": "01-Mar"}), DataError, ["'01-Mar'", "Excel"]),
    "Excel: 2016-03-01": ("inputs", rename_features("rna", {"EGFR": "2016-03-01"}), DataError, ["'2016-03-01'"]),
    "Excel: 1-Dec": ("inputs", rename_features("protein", {"EGFR": "1-Dec"}), DataError, ["'1-Dec'", "DEC1"]),
    # 6. gene-set files
    "empty GMT": ("startup", raw("data/sets.gmt", ""), DataError, [r"sets\.gmt: no gene set found"]),
    "GMT without a valid set": (
        "startup",
        raw("data/sets.gmt", "SET_A TP53 EGFR\nSET_B\n"),
        DataError,
        [r"sets\.gmt: malformed GMT \(line 1: ", "line 2"],
    ),
    "GMT whose sets are all below min_size": (
        "startup",
        both(raw("data/sets.gmt", "A\tna\tTP53\nB\tna\tEGFR\tMYC\n"), config(enrichment__min_size=5)),
        DataError,
        [r"sets\.gmt: no gene set has at least 5 genes", "'B', has 2"],
    ),
    "GMT sharing no gene with a layer": (
        "inputs",
        raw("data/sets.gmt", "SET_A\tna\tENSG01\tENSG02\tENSG03\n"),
        DataError,
        [
            r"sets\.gmt: no gene of this file is a feature of layer 'rna' \(data/rna\.tsv\)",
            "'TP53', 'EGFR'",
            "'ENSG01', 'ENSG02'",
        ],
    ),
    "GMT of another species (case)": (
        "inputs",
        raw("data/sets.gmt", "SET_A\tna\tTp53\tEgfr\tMyc\n"),
        DataError,
        [r"no gene of this file is a feature of layer 'rna'", "3 of them match when case is ignored"],
    ),
    "GMT file missing": (
        "startup",
        config(enrichment__gene_sets={"demo": "data/nope.gmt"}),
        ConfigError,
        [r"gene_sets: demo: file .*nope\.gmt not found"],
    ),
    # 7. sheet values: file, line, column, value, valid values, nearest
    "omics: unknown kind": (
        "startup",
        omics_cell("protein", "kind", "proteomics_intesity"),
        ConfigError,
        [
            OM + r", row 3 \(layer 'protein'\): kind 'proteomics_intesity'",
            "'metabolomics_intensity'",
            "Did you mean 'proteomics_intensity'",
        ],
    ),
    "omics: orientation typo": (
        "startup",
        omics_cell("rna", "orientation", "features_in_row"),
        ConfigError,
        [OM + r", row 2 \(layer 'rna'\): orientation 'features_in_row'", "Did you mean 'features_in_rows'"],
    ),
    "omics: has_qc value": (
        "startup",
        omics_cell("metab", "has_qc", "ture"),
        ConfigError,
        [OM + r", row 4 \(layer 'metab'\): has_qc 'ture'", "Did you mean 'true'"],
    ),
    "omics: gene_ids value": (
        "startup",
        omics_cell("rna", "gene_ids", "symbols"),
        ConfigError,
        [r"gene_ids 'symbols'", "Did you mean 'symbol'"],
    ),
    "omics: log_scale value": (
        "startup",
        omics_cell("protein", "log_scale", "log2"),
        ConfigError,
        [r"row 3 \(layer 'protein'\): log_scale 'log2'", "'true', 'false'"],
    ),
    "omics: bad layer name": (
        "startup",
        omics_cell("rna", "layer", "rna-seq"),
        ConfigError,
        [OM + r", row 2 \(layer 'rna-seq'\): layer 'rna-seq', which does not match"],
    ),
    "omics: empty path": (
        "startup",
        omics_cell("protein", "path", ""),
        ConfigError,
        [r"row 3 \(layer 'protein'\): path ''", "must not be empty"],
    ),
    "omics: unknown column": (
        "startup",
        lambda p: setattr(p, "omics", p.omics.rename(columns={"orientation": "orientaton"})),
        ConfigError,
        [OM + r": unknown column 'orientaton'", "Did you mean 'orientation'"],
    ),
    "omics: required column missing": (
        "startup",
        lambda p: setattr(p, "omics", p.omics.rename(columns={"kind": "type"})),
        ConfigError,
        [OM + r": required column 'kind' is missing"],
    ),
    "omics: layer listed twice": (
        "startup",
        omics_cell("metab", "layer", "protein"),
        ConfigError,
        [OM + r", row 4: layer 'protein' is listed twice"],
    ),
    "omics: batch_column not in samples": (
        "startup",
        omics_cell("rna", "batch_column", "batches"),
        ConfigError,
        [r"batch_column 'batches' is not a column of .*samples\.tsv", "Did you mean 'batch'"],
    ),
    "omics: has_qc without injection_order": (
        "startup",
        lambda p: setattr(p, "sheet", p.sheet.drop(columns="injection_order")),
        ConfigError,
        [r"layer 'metab'\): has_qc is true but .*samples\.tsv has no 'injection_order' column"],
    ),
    "samples: unknown sample_type (comment line counted)": (
        "startup",
        sheet_cell("S04", "sample_type", "smaple"),
        DataError,
        [S + r", row 6: sample 'S04' has sample_type 'smaple'", "'qc', 'blank'", "Did you mean 'sample'"],
    ),
    "samples: upper-case QC": (
        "startup",
        sheet_cell("QC2", "sample_type", "QC"),
        DataError,
        [r"sample 'QC2' has sample_type 'QC'", "Did you mean 'qc'"],
    ),
    "samples: non-numeric injection_order": (
        "startup",
        sheet_cell("S02", "injection_order", "2nd"),
        DataError,
        [S + r", row 4: sample 'S02' has injection_order '2nd', which does not match"],
    ),
    "samples: no sample column": (
        "startup",
        lambda p: setattr(p, "sheet", p.sheet.rename(columns={"sample": "Sample"})),
        DataError,
        [S + r": required column 'sample' is missing", "Did you mean 'Sample'"],
    ),
    "samples: duplicated sample ID": (
        "startup",
        sheet_cell("S09", "sample", "S03"),
        DataError,
        [S + r": sample ID 'S03' appears more than once \(rows \[5, 11\]\)"],
    ),
    "samples: empty sample ID": (
        "startup",
        sheet_cell("S10", "sample", "  "),
        DataError,
        [S + r": row 12 has an empty sample ID"],
    ),
    "samples: column named twice": (
        "startup",
        lambda p: setattr(p, "sheet", p.sheet.rename(columns={"split": "batch"})),
        DataError,
        [S + r", line 2: column 'batch' appears more than once"],
    ),
    "samples: comma-separated": (
        "startup",
        lambda p: p.texts.update({"config/samples.tsv": p.sheet.to_csv(index=False)}),
        DataError,
        [S + r", line 1: the header has a single column", "tab-separated"],
    ),
    "samples: not UTF-8": (
        "startup",
        lambda p: p.texts.update(
            {"config/samples.tsv": p.text("config/samples.tsv").replace("S05", "S\xe905").encode("latin-1")}
        ),
        DataError,
        [S + r", line 7: byte 0xe9 is not UTF-8"],
    ),
    # 8. the config file's YAML
    "YAML: syntax error": (
        "yaml",
        lambda p: p.texts.update(
            {"config/config.yaml": "samples: config/samples.tsv\noutcome:\n  column: [outcome\n  type: auto\n"}
        ),
        ConfigError,
        [C + r", line 4, column \d+: invalid YAML", "starts on line 3"],
    ),
    "YAML: tab indentation": (
        "yaml",
        raw("config/config.yaml", "outcome:\n\tcolumn: outcome\n"),
        ConfigError,
        [C + r", line 2, column 1: invalid YAML", "spaces, not tabs"],
    ),
    "YAML: key given twice": (
        "yaml",
        raw("config/config.yaml", "evaluation:\n  folds: 3\nseed: 1\nevaluation:\n  repeats: 1\n"),
        ConfigError,
        [C + r", line 4: key 'evaluation' is given twice .*first on line 1"],
    ),
    "YAML: not a mapping": (
        "yaml",
        raw("config/config.yaml", "- samples\n- omics\n"),
        ConfigError,
        [C + r": the config must be a mapping"],
    ),
    # 9. config keys, enums and types (apply_defaults: one readable line, the nearest name)
    "config: top-level typo": (
        "config",
        config(integraton={"mofa": {"factors": 4}}),
        ConfigError,
        [C + r": unknown key 'integraton' \(did you mean 'integration'\?\) under the top level"],
    ),
    "config: nested typo": (
        "config",
        config(integration={"mofa": {"factor": 4}}),
        ConfigError,
        [r"unknown key 'factor' \(did you mean 'factors'\?\) under integration: mofa"],
    ),
    "config: typo three levels down": (
        "config",
        config(preprocess={"rna": {"normalise": {"method": "tmm"}}}),
        ConfigError,
        [r"unknown key 'normalise' \(did you mean 'normalize'\?\) under preprocess: rna"],
    ),
    "config: kind_defaults typo": (
        "config",
        config(kind_defaults={"rnaseq_count": {}}),
        ConfigError,
        [r"'rnaseq_count' \(did you mean 'rnaseq_counts'\?\) under kind_defaults"],
    ),
    "config: enum value": (
        "config",
        config(outcome={"column": "outcome", "type": "binray"}),
        ConfigError,
        [r"outcome: type is 'binray', which is not one of", "Did you mean 'binary'"],
    ),
    "config: enum in a list": (
        "config",
        config(evaluation={"folds": 3, "strategies": ["early", "mofaa"]}),
        ConfigError,
        [r"evaluation: strategies: 1 is 'mofaa'", "Did you mean 'mofa'"],
    ),
    "config: wrong type": (
        "config",
        config(evaluation={"folds": "five"}),
        ConfigError,
        [r"evaluation: folds: 'five' is not of type 'integer'"],
    ),
    "config: below minimum": (
        "config",
        config(evaluation={"folds": 1}),
        ConfigError,
        [r"evaluation: folds: 1 is less than the minimum"],
    ),
    "config: step method enum": (
        "config",
        config(preprocess={"rna": {"normalize": {"method": "tmmm"}}}),
        ConfigError,
        [r"preprocess: rna: normalize", "tmmm"],
    ),
    # config names that must match the sheets
    "config: outcome column missing": (
        "startup",
        config(outcome={"column": "status"}),
        ConfigError,
        [S + r": outcome column 'status' \(config 'outcome: column'\) is not in the sheet"],
    ),
    "config: outcome column misspelt": (
        "startup",
        config(outcome={"column": "outcomes"}),
        ConfigError,
        [r"outcome column 'outcomes'", "Did you mean 'outcome'"],
    ),
    "config: positive class misspelt": (
        "startup",
        config(outcome={"column": "outcome", "positive": "cases"}),
        ConfigError,
        [r"'outcome: positive' is 'cases'", "'case' and 'control'"],
    ),
    "config: external test column missing": (
        "startup",
        config(evaluation={"folds": 3, "test_column": "splits"}),
        ConfigError,
        [S + r": the external test column 'splits'", "Did you mean 'split'"],
    ),
    "config: MOFA groups column missing": (
        "startup",
        config(integration={"mofa": {"groups": "cohort"}}),
        ConfigError,
        [r"'integration: mofa: groups' names the column 'cohort', which is not in .*samples\.tsv"],
    ),
    "config: covariate not a column": (
        "startup",
        config(covariates=["bacth"]),
        ConfigError,
        [r"'covariates' names 'bacth'", "Did you mean 'batch'"],
    ),
    # matrices: cells
    "non-numeric cell": (
        "inputs",
        cell("protein", "S03", "EGFR", "n.d."),
        DataError,
        [P + r": non-numeric value 'n\.d\.' for sample 'S03', feature 'EGFR'", "write NA"],
    ),
    "negative count": (
        "inputs",
        cell("rna", "S04", "MYC", "-3"),
        DataError,
        [R + r": negative count .* for sample 'S04', feature 'MYC' \(value -3"],
    ),
    "missing count": (
        "inputs",
        cell("rna", "S04", "MYC", "NA"),
        DataError,
        [R + r": missing count .*sample 'S04', feature 'MYC'"],
    ),
    "negative intensity": (
        "inputs",
        cell("protein", "S08", "KRAS", "-1.5"),
        DataError,
        [P + r": negative intensity .*sample 'S08', feature 'KRAS'", "log_expression"],
    ),
    "beta values outside [0, 1]": (
        "inputs",
        omics_cell("protein", "kind", "methylation_beta"),
        DataError,
        [P + r": beta value outside \[0, 1\].* for sample 'S01'"],
    ),
    "non-binary value in a binary layer": (
        "inputs",
        both(
            omics_cell("protein", "kind", "binary"),
            lambda p: setattr(p, "protein", p.protein.map(lambda v: "1")),
            cell("protein", "S06", "TP53", "2"),
        ),
        DataError,
        [P + r": value other than 0 or 1 in a binary layer for sample 'S06', feature 'TP53' \(value 2"],
    ),
    "infinite value": (
        "inputs",
        cell("protein", "S02", "MYC", "inf"),
        DataError,
        [P + r": infinite value for sample 'S02'"],
    ),
    "sample without any observed value": (
        "inputs",
        lambda p: p.protein.loc.__setitem__(("S11", slice(None)), "NA"),
        DataError,
        [P + r": sample\(s\) 'S11' have no observed value in layer 'protein'"],
    ),
    # matrices: IDs
    "duplicated sample ID in a matrix": (
        "inputs",
        rename_samples("protein", {"S05": "S04"}),
        DataError,
        [P + r": sample ID 'S04' appears more than once", "merge or rename"],
    ),
    "duplicated feature ID": (
        "inputs",
        rename_features("rna", {"GAPDH": "ACTB"}),
        DataError,
        [R + r": feature ID 'ACTB' appears more than once", "sum or average"],
    ),
    "IDs equal after stripping surrounding whitespace": (
        "inputs",
        lambda p: p.texts.update({"data/protein.csv": p.text("data/protein.csv").replace("\nS06,", "\n S05 ,")}),
        DataError,
        [P + r": sample ID 'S05' appears more than once"],
    ),
    "empty feature ID": (
        "inputs",
        rename_features("protein", {"KRAS": " "}),
        DataError,
        [P + r": an empty feature ID in the header"],
    ),
    "empty matrix (header only)": (
        "inputs",
        raw("data/protein.csv", "sample,TP53,EGFR\n"),
        DataError,
        [P + r": no data \(0 samples x 2 features\) in layer 'protein'"],
    ),
    "empty matrix file": ("inputs", raw("data/protein.csv", ""), DataError, [P + r": the file is empty"]),
    "matrix file missing": (
        "inputs",
        omics_cell("protein", "path", "data/protein_v2.csv"),
        DataError,
        [r"protein_v2\.csv: file not found", "omics sheet"],
    ),
    "unknown matrix format": (
        "inputs",
        both(omics_cell("protein", "path", "data/protein.xlsx"), raw("data/protein.xlsx", b"PK")),
        DataError,
        [r"protein\.xlsx: unknown matrix format '\.xlsx'", "\\.parquet"],
    ),
    "wrong orientation": (
        "inputs",
        omics_cell("protein", "orientation", "features_in_rows"),
        ConfigError,
        [P + r": layer 'protein' is declared orientation 'features_in_rows'", "Set orientation to 'samples_in_rows'"],
    ),
    "unknown sample in a matrix": (
        "inputs",
        rename_samples("protein", {"S07": "S99"}),
        DataError,
        [P + r": sample\(s\) 'S99' of layer 'protein' are not in config/samples\.tsv"],
    ),
    "IDs matching the sheet only after case-folding": (
        "inputs",
        rename_samples("protein", {"S07": "s07", "S08": "s08"}),
        DataError,
        [r"'s07', 's08' of layer 'protein' are not in", "only when case is ignored \\('s07' -> 'S07'"],
    ),
    "sample missing from a layer": (
        "inputs",
        drop_samples("protein", ["S12"]),
        DataError,
        [P + r": sample\(s\) 'S12' of config/samples\.tsv are missing from layer 'protein'", "allow_missing_samples"],
    ),
    # matrices against the sheet: QC, batches
    "QC injections in a layer not declared has_qc": (
        "inputs",
        omics_cell("metab", "has_qc", "false"),
        ConfigError,
        [M + r": layer 'metab' holds QC injection\(s\) 'QC1', 'QC2', 'QC3' but has_qc is false", "has_qc to true"],
    ),
    "too few QC injections": (
        "inputs",
        drop_samples("metab", ["QC2", "QC3"]),
        DataError,
        [M + r": .*1 QC injection\(s\); at least 3"],
    ),
    "missing injection order with QCs": (
        "inputs",
        sheet_cell("QC2", "injection_order", ""),
        DataError,
        [r"samples\.tsv: sample 'QC2' needs a numeric injection_order"],
    ),
    "single-sample batch": (
        "inputs",
        sheet_cell("S03", "batch", "b3"),
        DataError,
        [r"samples\.tsv: batch 'b3' \(column 'batch'\) holds a single sample of layer '\w+' \('S03'\)", "merge"],
    ),
    "empty batch value": (
        "inputs",
        sheet_cell("S03", "batch", ""),
        DataError,
        [r"sample 'S03' has no value in batch column 'batch'"],
    ),
    # the cohort as one MuData file (obs the sheet, modalities the layers): the same checks, the same messages
    "h5mu: obs sample without an outcome": (
        "startup",
        both(sheet_cell("S03", "outcome", ""), as_h5mu),
        DataError,
        [H + r": sample\(s\) 'S03' \(row 3\) have no value in outcome column 'outcome'", "Fill in the outcome"],
    ),
    "h5mu: outcome column missing from obs": (
        "startup",
        both(config(outcome__column="subtype"), as_h5mu),
        ConfigError,
        [H + r": outcome column 'subtype' .* is not in the sheet", "'outcome'"],
    ),
    "h5mu: modality not in the file": (
        "inputs",
        both(as_h5mu, omics_cell("protein", "modality", "prot")),
        DataError,
        [H + r": has no modality 'prot' \(modalities: .*'protein'", "Did you mean 'protein'", "modality column"],
    ),
    "h5mu: layer named unlike any modality": (
        "inputs",
        both(as_h5mu, omics_cell("protein", "layer", "proteome")),
        DataError,
        [H + r": has no modality 'proteome'", r"modality column \(empty: the layer's name\)"],
    ),
    "h5mu: negative count in a modality": (
        "inputs",
        both(cell("rna", "S05", "MYC", "-3"), as_h5mu),
        DataError,
        [H + r" \(modality 'rna'\): negative count .* for sample 'S05', feature 'MYC'", "log_expression"],
    ),
    "h5mu: features_in_rows declared": (
        "startup",
        both(as_h5mu, omics_cell("rna", "orientation", "features_in_rows")),
        ConfigError,
        [OM + r", row 2 \(layer 'rna'\): orientation is 'features_in_rows'", "obs", r"adata\.T"],
    ),
    "h5mu: AnnData layer not in the modality": (
        "inputs",
        both(as_h5mu, omics_cell("rna", "anndata_layer", "counts")),
        DataError,
        [H + r" \(modality 'rna', layers\['counts'\]\): has no AnnData layer 'counts' \(layers: none\)", "X"],
    ),
    "h5mu: modality for a text matrix": (
        "startup",
        omics_cell("rna", "modality", "rna"),
        ConfigError,
        [
            OM + r", row 2 \(layer 'rna'\): modality 'rna' is given but path 'data/rna\.tsv' is not a MuData",
            "Leave modality empty",
        ],
    ),
    "h5mu: obs column sample differs from the obs names": (
        "startup",
        both(as_h5mu, lambda p: p.obs_extra.update(sample=lambda ids: [i.lower() for i in ids])),
        DataError,
        [H + r": obs column 'sample' differs from the obs names \(row 1: 's01' against 'S01'", "rename or drop"],
    ),
    "h5mu: a sample missing from a modality": (
        "inputs",
        both(drop_samples("protein", ["S12"]), as_h5mu),
        DataError,
        [
            H + r" \(modality 'protein'\): sample\(s\) 'S12' of data/cohort\.h5mu are missing from layer "
            r"'protein'",
            "allow_missing_samples",
        ],
    ),
    "h5mu: not an HDF5 file": (
        "startup",
        both(as_h5mu, raw("data/cohort.h5mu", b"not hdf5")),
        DataError,
        [H + r": cannot be read as an HDF5 \.h5mu file", "write_h5mu"],
    ),
    "h5ad: a layer whose samples are var": (
        "inputs",
        h5ad_layer("protein", transposed=True),
        DataError,
        [r"data/protein\.h5ad: none of the obs names of layer 'protein' \('TP53'", r"adata\.T"],
    ),
    "h5ad: modality given for an AnnData file": (
        "startup",
        both(h5ad_layer("protein"), omics_cell("protein", "modality", "protein")),
        ConfigError,
        [
            OM + r", row 3 \(layer 'protein'\): modality 'protein' is given but path 'data/protein\.h5ad' is not a "
            "MuData",
            "Leave modality empty",
        ],
    ),
}


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_the_tiny_project_passes_every_stage(project):
    sheet, omics, matrices, summary = project.inputs()
    assert list(summary["layer"]) == ["rna", "protein", "metab"]
    assert matrices["metab"].shape == (15, 4) and matrices["rna"].shape == (12, 6)


def test_battery_size():
    assert len(CASES) >= 60, len(CASES)


STAGES = {
    "yaml": lambda p: (p.write(), check_config_file(str(p.path("config/config.yaml")))),
    "config": lambda p: (p.write(), p.settings()),
    "startup": Project.startup,
    "inputs": Project.inputs,
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_with_file_line_id_and_fix(project, case):
    stage, breaker, error, patterns = CASES[case]
    breaker(project)
    with pytest.raises(InputError) as err:
        STAGES[stage](project)
    msg = str(err.value)
    assert isinstance(err.value, error), f"{type(err.value).__name__} instead of {error.__name__}: {msg}"
    for pattern in patterns:
        assert re.search(pattern, msg), f"{pattern!r} not in: {msg}"


@pytest.mark.parametrize("name", ["1-Mar", "MARCH1", "SEPT2"])
def test_excel_check_only_for_symbol_layers_and_real_dates(project, name):
    """MARCH1 and SEPT2 are genes, not dates; a metabolite called 1-Mar in a layer without gene
    symbols is not checked."""
    if name == "1-Mar":
        project.metab = project.metab.rename(columns={"M1": name})
    else:
        project.rna = project.rna.rename(columns={"MYC": name})
    project.inputs()


def test_auto_outcome_with_few_numeric_values_is_classification(project):
    """auto with <= 10 distinct numeric values is a class label (0/1): the class check applies."""
    project.sheet.loc[project.sheet["sample"].isin(SAMPLES), "outcome"] = ["0", "1"] * 6
    project.config["outcome"] = {"column": "outcome"}
    project.inputs()
    project.sheet.loc[project.sheet["sample"].isin(SAMPLES[:11]), "outcome"] = "0"
    with pytest.raises(DataError, match=r"outcome class '1' has 1 sample"):
        project.startup()


def test_whitespace_around_ids_is_stripped_and_matches(project):
    project.texts["data/protein.csv"] = project.text("data/protein.csv").replace("\nS06,", "\n S06 ,")
    _, _, matrices, _ = project.inputs()
    assert "S06" in matrices["protein"].index


def test_samples_without_an_outcome_are_excluded_on_request(project):
    """Real cohorts (CLL: 12 of 200 without IGHV status) have samples without the outcome: by default the
    run stops and names them and the option; with 'outcome: missing: exclude' every layer drops them and
    the checked sheet keeps them, typed 'excluded', as the record."""
    project.sheet.loc[project.sheet["sample"].isin(["S03", "S08"]), "outcome"] = ""
    with pytest.raises(DataError, match=r"'S03', 'S08'.*outcome: missing: exclude"):
        project.startup()
    project.config["outcome"]["missing"] = "exclude"
    sheet, _, matrices, summary = project.inputs()
    assert list(sheet.index[sheet["sample_type"] == "excluded"]) == ["S03", "S08"]
    for layer, X in matrices.items():
        assert not {"S03", "S08"} & set(X.index), layer
    assert list(summary["samples"]) == [10, 10, 10]


def test_a_sample_may_be_marked_excluded_in_the_sheet(project):
    project.sheet.loc[project.sheet["sample"] == "S05", "sample_type"] = "excluded"
    _, _, matrices, _ = project.inputs()
    assert all("S05" not in X.index for X in matrices.values())


def test_an_empty_row_counts_as_a_missing_layer_when_allowed(project):
    """CLL's drug matrix holds 16 samples as rows of NA: with allow_missing_samples they lack the layer
    (and keep their other layers); without it the message names the option."""
    project.protein.loc["S11"] = "NA"
    with pytest.raises(DataError, match=r"'S11' have no observed value.*allow_missing_samples: true"):
        project.inputs()
    project.config["inputs"] = {"allow_missing_samples": True}
    _, _, matrices, _ = project.inputs()
    assert "S11" not in matrices["protein"].index and "S11" in matrices["rna"].index


# ---------------------------------------------------------------------------------------------
# 10. a job's InputError: the message first, no traceback, status 1, in the log
# ---------------------------------------------------------------------------------------------

SCRIPT = """
import sys
from moflow.errors import DataError
from moflow.runtime import setup
setup(sys.argv[1])
if sys.argv[2] == "input":
    raise DataError("data/protein.csv: non-numeric value 'n.d.' for sample 'S03'. Fix the cell.")
raise KeyError("boom")
"""


@pytest.mark.parametrize("kind", ["input", "bug"])
def test_job_error_is_the_first_line(tmp_path, kind):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    log = tmp_path / "logs" / "job.log"
    res = subprocess.run([sys.executable, str(script), str(log), kind], capture_output=True, text=True)
    assert res.returncode == 1
    first = res.stderr.splitlines()[0]
    if kind == "input":
        assert first == "Error: data/protein.csv: non-numeric value 'n.d.' for sample 'S03'. Fix the cell."
        assert "Traceback" not in res.stderr
        assert "Error: data/protein.csv: non-numeric value" in log.read_text()
        assert "Traceback" not in log.read_text()
    else:
        assert first.startswith("Error: KeyError: 'boom'")
        assert "Traceback" in res.stderr and "Traceback" in log.read_text()


# ---------------------------------------------------------------------------------------------
# 11. provenance: checksums of every input, Python, platform, commit; no timestamps
# ---------------------------------------------------------------------------------------------


def test_provenance_records_checksums_python_platform_commit(tmp_path):
    import hashlib
    import platform

    from moflow.report import provenance

    files = {}
    for name, content in (("samples.tsv", b"sample\n"), ("rna.tsv", b"gene\tS1\n"), ("sets.gmt", b"A\tna\tX\n")):
        (tmp_path / name).write_bytes(content)
        files[str(tmp_path / name)] = io.sha256(tmp_path / name)
        assert files[str(tmp_path / name)] == hashlib.sha256(content).hexdigest()
    prov = provenance({"seed": 1}, sorted(files), files, commit=io.git_commit(Path(__file__).parent))
    assert prov["inputs"] == files and prov["checksum"] == "sha256"
    assert prov["python"] == platform.python_version() and prov["platform"]
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", prov["workflow_commit"])
    assert prov == provenance({"seed": 1}, sorted(files), files, commit=prov["workflow_commit"])  # no timestamps


def test_git_commit_reads_head_refs_and_packed_refs(tmp_path):
    assert io.git_commit(tmp_path) in ("unknown",) or len(io.git_commit(tmp_path)) == 40
    repo = tmp_path / "wf"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / "sub").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/main\n")
    assert io.git_commit(repo / "sub") == "a" * 40
    (repo / ".git" / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert io.git_commit(repo) == "b" * 40
    (repo / ".git" / "HEAD").write_text("c" * 40 + "\n")  # detached
    assert io.git_commit(repo) == "c" * 40
