"""The validated configuration as one typed, immutable settings object.

The JSON schema (``schemas/config.schema.yaml``) is the only place a default lives: a config is
validated against it and its defaults are filled in (:func:`apply_defaults`, the same recipe as
``snakemake.utils.validate``), then :meth:`Settings.from_config` turns it into frozen dataclasses.
Nothing here, and nothing in the package, supplies a default of its own: a key missing from the
mapping given to :meth:`Settings.from_config` is an error, not a silent fallback.

A rule receives only the sections its package function reads (``rules/common.smk``,
``settings_for``). Those functions declare them with :func:`reads`; a settings object built from
fewer sections raises :class:`~moflow.errors.ConfigError` naming the missing section the moment
code touches it, so a rule that is not passed a section it needs fails loudly instead of running
with a default.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints

from moflow.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"


# --------------------------------------------------------------------------------------------
# the schema: loading, defaults, messages
# --------------------------------------------------------------------------------------------


@functools.cache
def _load_schema(path: str) -> dict:
    import yaml

    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} not found: the package reads the workflow's schemas from the checkout it "
            "was installed from; install it with `pip install -e <moflow checkout>`."
        )
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_schema(path: str | Path = CONFIG_SCHEMA) -> dict:
    """The config schema (a deep copy; the cached original is never handed out)."""
    return copy.deepcopy(_load_schema(str(path)))


def _default_validator(schema: dict):
    from jsonschema import Draft202012Validator, validators

    validate_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, sub):
        if isinstance(instance, dict):
            for prop, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(prop, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, sub)

    cls = validators.extend(Draft202012Validator, {"properties": set_defaults})
    return cls(schema)


def _where(path) -> str:
    return ": ".join(str(p) for p in path) if path else "the top level"


def _describe(error, schema: dict, source: str) -> str:
    """One readable line for a schema violation: where, what, and the fix (a near name suggested)."""
    where = _where(list(error.absolute_path))
    if error.validator == "additionalProperties":
        allowed = list((error.schema.get("properties") or {}).keys())
        extra = [k for k in error.instance if k not in allowed] if isinstance(error.instance, dict) else []
        hints = []
        for key in extra:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        valid = ", ".join(allowed)
        return f"{source}: unknown key {', '.join(hints)} under {where}. Valid keys there: {valid}."
    if error.validator == "enum":
        near = difflib.get_close_matches(str(error.instance), [str(v) for v in error.validator_value], n=1)
        hint = f" Did you mean '{near[0]}'?" if near else ""
        return (
            f"{source}: {where} is '{error.instance}', which is not one of "
            f"{', '.join(map(str, error.validator_value))}.{hint}"
        )
    if error.validator == "required":
        return f"{source}: {error.message} (under {where}). Add it."
    return f"{source}: {where}: {error.message}."


def apply_defaults(config: dict, *, schema: dict | None = None, source: str = "config") -> dict:
    """Validate ``config`` against the schema and fill in every default (a new dict is returned).

    Raises :class:`~moflow.errors.ConfigError` with one line per problem: where in the config,
    what is wrong, the valid choices and the nearest one to a misspelt name.

    Parameters
    ----------
    config : dict
        The user's config (not modified).
    schema : dict, optional
        The JSON schema; default: :func:`load_schema`.
    source : str
        Names the config in the messages (e.g. its file).

    Returns
    -------
    dict
        A deep copy of ``config`` with every default filled in.
    """
    schema = load_schema() if schema is None else schema
    config = copy.deepcopy(config)
    validator = _default_validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("\n".join(_describe(e, schema, source) for e in errors))
    return config


def default_config(**overrides) -> dict:
    """The schema's defaults, with top-level ``overrides`` (tests and notebooks)."""
    base = {"samples": "config/samples.tsv", "omics": "config/omics.tsv", "outcome": {}}
    base.update(copy.deepcopy(overrides))
    return apply_defaults(base)


# --------------------------------------------------------------------------------------------
# frozen values
# --------------------------------------------------------------------------------------------


def freeze(value):
    """Mappings become read-only mappings, lists tuples, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value):
    """The inverse of :func:`freeze`: plain dicts and lists (for estimator parameters)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The ``outcome`` section: outcome column and type, positive class, survival's time and event.

    ``missing`` says what a sample without an outcome does (``stop`` or ``exclude``); the schema
    (``schemas/config.schema.yaml``) documents every field.
    """

    column: str
    type: str
    positive: str | None
    time: str
    event: str
    time_unit: str
    missing: str


@dataclass(frozen=True)
class Clinical:
    """The ``clinical`` section: sample-sheet columns that enter the models as clinical covariates.

    ``columns`` (numeric or categorical), ``categorical`` (numbers taken as categories), ``reference``
    ({column: reference level}) and ``leak_threshold`` (the score at which one covariate alone is
    flagged as a likely leak of the outcome).
    """

    columns: tuple
    categorical: tuple
    reference: Mapping[str, str]
    leak_threshold: float


@dataclass(frozen=True)
class Inputs:
    """The ``inputs`` section: whether a cohort sample may be absent from a layer's matrix."""

    allow_missing_samples: bool


@dataclass(frozen=True)
class Demo:
    """The ``demo`` section: size of the simulated demo cohort (samples, batches, features) and its seed."""

    n_samples: int
    n_batches: int
    n_genes: int
    n_proteins: int
    n_metabolites: int
    seed: int


@dataclass(frozen=True)
class BatchConfounding:
    """The ``batch_confounding`` section: when batch and outcome go together, batch correction stops.

    ``max_association`` is the largest batch-outcome association at which correction still runs;
    ``allow`` corrects even above it.
    """

    max_association: float
    allow: bool


@dataclass(frozen=True)
class Early:
    """The ``integration.early`` section: early integration (and the single-layer baselines).

    Its model and penalty, the principal components kept for the embedding, what a sample lacking a
    layer does (``missing``) and the layers' weights in the concatenation.
    """

    penalty: str
    model: str
    n_components: int
    missing: str
    layer_weights: Mapping[str, float]


@dataclass(frozen=True)
class Mixed:
    """The ``integration.mixed`` section: principal components per layer, and the model on their scores."""

    n_components: int
    penalty: str
    model: str


@dataclass(frozen=True)
class Mofa:
    """The ``integration.mofa`` section: the MOFA+ fit and the model on its factors.

    The fit's factors, convergence, priors and groups; ``stability_seeds`` extra fits check the
    factors' stability; ``likelihoods`` maps a layer to its MOFA likelihood; ``penalty`` and ``model``
    are those of the model on the factors.
    """

    factors: int
    convergence_mode: str
    max_iter: int
    check_tolerance: float | None
    spikeslab_weights: bool
    ard_weights: bool
    scale_views: bool
    use_float32: bool
    gpu_mode: bool
    ard_factors: bool
    drop_r2: float | None
    stability_seeds: int
    penalty: str
    model: str
    likelihoods: Mapping[str, str]
    groups: str
    center_groups: bool


@dataclass(frozen=True)
class Late:
    """The ``integration.late`` section: the per-layer models whose predictions are stacked."""

    penalty: str
    model: str


@dataclass(frozen=True)
class Regulators:
    """One regulator of ``integration.hierarchical.regulators``: edge list, target layer, fewest targets."""

    edges: str
    layer: str
    min_targets: int


@dataclass(frozen=True)
class Hierarchical:
    """The ``integration.hierarchical`` section: gene-set scores and regulator activities in one model.

    The set score (``method``), the collections scored, the set sizes, the regulators
    (name -> :class:`Regulators`), and the penalty and model of the one model on every score.
    """

    method: str
    collections: tuple
    min_size: int
    max_size: int
    regulators: Mapping[str, Regulators]
    penalty: str
    model: str


@dataclass(frozen=True)
class Integration:
    """The ``integration`` section: the inner CV's folds and one subsection per strategy."""

    inner_folds: int
    early: Early
    mixed: Mixed
    mofa: Mofa
    late: Late
    hierarchical: Hierarchical


@dataclass(frozen=True)
class Evaluation:
    """The ``evaluation`` section: the outer CV (folds, repeats, strategies) and what surrounds it.

    The external test set (``test_column`` / ``test_value``), the subject column of group-aware splits,
    the permutations of the permutation test, the external test set's bootstrap resamples, survival's
    scoring times and the splits per job.
    """

    folds: int
    repeats: int
    strategies: tuple
    test_column: str
    test_value: str
    group_column: str
    permutations: int
    bootstrap: int
    survival_times: tuple
    splits_per_job: int
    baselines: tuple
    site_column: str
    recalibration: tuple
    augment: tuple
    augment_strategies: tuple
    augment_components: int


@dataclass(frozen=True)
class Predictor:
    """The ``predictor`` section: which strategy the model bundle saves, and how new samples may lack features."""

    strategy: str
    max_missing_features: float
    coverage: float
    coverage_check: bool


@dataclass(frozen=True)
class Design:
    """The ``design`` section: how many samples the next study needs (power, costs, learning curves)."""

    enabled: bool
    target_power: float
    min_power: float
    fdr: float
    effect_threshold: float
    sizes: tuple
    costs: Mapping[str, float]
    fractions: tuple
    strategies: tuple
    metric: str | None
    target_score: float | None


@dataclass(frozen=True)
class Synthesize:
    """The ``synthesize`` section: the synthetic cohort's size, the generator's held-out share and components."""

    enabled: bool
    samples: int | None
    holdout: float
    components: int
    folds: int
    strategies: tuple


@dataclass(frozen=True)
class Network:
    """The ``subtypes.network`` section: the similarity networks' neighbours, kernel width and fusion iterations."""

    k: int
    mu: float
    t: int


@dataclass(frozen=True)
class Subtypes:
    """The ``subtypes`` section: subtype discovery (representations, clusterings, resamples, k).

    ``enabled`` None: on where the config has no outcome; ``time`` and ``event`` name survival columns for
    the subtypes' log-rank test.
    """

    enabled: bool | None
    k_max: int
    representations: tuple
    clusterings: tuple
    resamples: int
    resamples_per_job: int
    min_strength: float
    components: int
    features: int | None
    network: Network
    time: str
    event: str


@dataclass(frozen=True)
class EnrichmentLayer:
    """One layer of ``enrichment.layers``: how its features become genes, or its own feature sets."""

    annotation: str | None
    feature_column: str
    gene_column: str
    separator: str
    one_to_many: str
    many_to_one: str
    feature_sets: Mapping[str, str]


@dataclass(frozen=True)
class Competitive:
    """The ``enrichment.competitive`` section: the competitive test of the MOFA weights."""

    enabled: bool
    ranks: bool
    inter_gene_correlation: Any


@dataclass(frozen=True)
class Ora:
    """The ``enrichment.ora`` section: the over-representation test of the top features."""

    enabled: bool
    top: int


@dataclass(frozen=True)
class Download:
    """The ``enrichment.download`` section: the gene-set libraries rule ``enrich_download`` fetches."""

    enabled: bool
    source: str
    libraries: tuple
    organism: str
    msigdb_version: str


@dataclass(frozen=True)
class Enrichment:
    """The ``enrichment`` section: gene-set collections, per-layer gene mapping and the tests' options."""

    gene_sets: Mapping[str, str]
    layers: Mapping[str, EnrichmentLayer]
    permutations: int
    min_size: int
    max_size: int
    weight: float
    min_overlap: float
    engine: str
    min_variance_explained: float
    alpha: float
    conditional: bool
    competitive: Competitive
    ora: Ora
    download: Download


class _NotPassed:
    """Stands for a section a rule was not given; touching it names the section."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def _fail(self, *_, **__):
        raise ConfigError(
            f"the settings section '{self.name}' was not passed to this step: the package function "
            f"reads it without declaring it (moflow.settings.reads), so rules/common.smk "
            f"(settings_for) did not hand it over. Declare '{self.name}' in the function's reads."
        )

    def __getattr__(self, item):
        if item.startswith("__"):
            raise AttributeError(item)
        self._fail()

    __getitem__ = __iter__ = __len__ = __bool__ = __contains__ = _fail

    def __repr__(self):
        return f"<section {self.name!r} not passed>"


SECTIONS = (
    "samples",
    "omics",
    "seed",
    "outcome",
    "covariates",
    "clinical",
    "inputs",
    "demo",
    "kind_defaults",
    "preprocess",
    "batch_confounding",
    "integration",
    "evaluation",
    "predictor",
    "subtypes",
    "design",
    "synthesize",
    "enrichment",
)


@dataclass(frozen=True)
class Settings:
    """The whole validated config. Sections not passed to a step raise when touched."""

    samples: str
    omics: str
    seed: int
    outcome: Outcome
    covariates: tuple
    clinical: Clinical
    inputs: Inputs
    demo: Demo
    kind_defaults: Mapping[str, Mapping]
    preprocess: Mapping[str, Mapping]
    batch_confounding: BatchConfounding
    integration: Integration
    evaluation: Evaluation
    predictor: Predictor
    subtypes: Subtypes
    design: Design
    synthesize: Synthesize
    enrichment: Enrichment

    @classmethod
    def from_config(cls, config: Mapping, *, sections=None) -> Settings:
        """Build from a validated config (defaults filled).

        Parameters
        ----------
        config : Mapping
            The validated config (:func:`apply_defaults`), or some of its sections.
        sections : iterable of str, optional
            The sections present (default: the keys of ``config``); the others are left out and raise
            when touched.

        Returns
        -------
        Settings
            Frozen dataclasses; lists become tuples and mappings read-only mappings (:func:`freeze`).
        """
        present = set(config) if sections is None else set(sections)
        unknown = present - set(SECTIONS)
        if unknown:
            raise ConfigError(f"unknown settings section(s) {sorted(unknown)}; sections are {', '.join(SECTIONS)}")
        hints = get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in present:
                values[f.name] = _NotPassed(f.name)
                continue
            if f.name not in config:
                raise ConfigError(
                    f"settings: section '{f.name}' is missing; the config was not validated against "
                    "schemas/config.schema.yaml (moflow.settings.apply_defaults fills its defaults)"
                )
            values[f.name] = _build(hints[f.name], config[f.name], f.name)
        return cls(**values)

    @classmethod
    def defaults(cls, **overrides) -> Settings:
        """The schema's defaults with top-level ``overrides`` (tests, notebooks)."""
        return cls.from_config(default_config(**overrides))

    def layer_overrides(self, layer: str) -> dict:
        """Config ``preprocess: {<layer>: ...}`` as a plain dict (empty where the layer has none)."""
        return thaw(self.preprocess.get(layer) or {})


def _build(tp, value, where: str):
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"settings: '{where}' must be a mapping, not {value!r}")
        hints = get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name not in value:
                raise ConfigError(
                    f"settings: '{where}.{f.name}' is missing; the config was not validated against "
                    "schemas/config.schema.yaml (its defaults fill every key)"
                )
            kwargs[f.name] = _build(hints[f.name], value[f.name], f"{where}.{f.name}")
        extra = set(value) - {f.name for f in dataclasses.fields(tp)}
        if extra:
            raise ConfigError(f"settings: unknown key(s) {sorted(extra)} under '{where}'")
        return tp(**kwargs)
    origin = getattr(tp, "__origin__", None)
    args = getattr(tp, "__args__", ())
    if origin is not None and origin.__name__ == "Mapping" and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        return MappingProxyType({k: _build(args[1], v or {}, f"{where}.{k}") for k, v in (value or {}).items()})
    return freeze(value)


# --------------------------------------------------------------------------------------------
# which sections a function reads
# --------------------------------------------------------------------------------------------


def reads(*sections: str, uses=()):
    """Declare the settings sections a package function reads (itself, and through its callees).

    ``rules/common.smk`` hands a rule exactly ``fn.reads`` of the function its script calls.

    Parameters
    ----------
    *sections : str
        Sections the function reads itself (names of :data:`SECTIONS`; another name raises ``ValueError``).
    uses : iterable of callables
        Functions it calls whose own ``reads`` are added.

    Returns
    -------
    callable
        A decorator that sets ``fn.reads`` (the sections in the order of :data:`SECTIONS`) and returns ``fn``.
    """
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise ValueError(f"reads: unknown section(s) {bad}")
    declared = set(sections)
    for fn in uses:
        declared |= set(fn.reads)

    def deco(fn):
        fn.reads = tuple(s for s in SECTIONS if s in declared)
        return fn

    return deco


def sections_of(config: Mapping, names) -> dict:
    """The named sections of a (validated) config, as plain data: what a rule's params carry."""
    return {name: config[name] for name in names}
