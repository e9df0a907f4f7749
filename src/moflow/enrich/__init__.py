"""Pathway enrichment of what the integration found, from local gene-set files only.

What is tested
--------------
* **Prerank** (GSEA, gene-set permutation, :mod:`.prerank`) of MOFA weights per factor and layer,
  and of early/late model coefficients per layer and target class (the lists: :mod:`.lists`). Each
  set gets one signed NES: a positive NES means the set sits at the top of the list (positive
  weights), a negative NES at the bottom. GSEA's nominal p-values and FDR q-values are computed
  separately for the two signs, so the positive and negative sides are two separately controlled
  lists (``direction`` and ``side_rank``).
* **Conditional test** (:func:`conditional_prerank`, and in :func:`ora_lists`): every set retested
  without the genes of the more significant sets it overlaps, so that a set enriched only through
  genes it shares with a stronger set is recognised.
* **Competitive test** (:mod:`.competitive`; PCGSE-style, Frost et al. 2015, with CAMERA's
  inter-gene correlation correction, Wu & Smyth 2012): set members' weights (or their ranks) against
  non-members, the variance inflated by the members' mean correlation in the layer's data after
  removing the factors.
* **Over-representation** (:mod:`.ora`; gseapy ``enrich``, hypergeometric) of selected features
  (the top positive and the top negative scores) against an explicit background: every feature of
  the layer that received a score. gseapy's default background (the union of the gene sets) is
  never used.
* **Multi-omics combination** (:mod:`.combine`): per pathway, Stouffer's method on the layers'
  signed z-scores, BH-adjusted, so a pathway supported by RNA and protein together ranks above one
  seen in a single layer.

Every collection is tested and corrected on its own (no pooled null across collections;
:mod:`.plan` assembles the collections from config and runs them). Features are mapped to genes per
layer (:class:`GeneMap`, :mod:`.genemap`); a layer without genes can bring its own feature sets.
Gene sets are parsed from GMT lines (read by :mod:`moflow.io`; parsed in :mod:`.genesets`) and
handed to gseapy as a dict, never as a name: gseapy takes a string that is not a file as an Enrichr
library and goes to the network. The one function that uses the network, on request only, is
:func:`download_library` (:mod:`.download`).

The prerank engine
------------------
``engine="moflow"`` (default, :mod:`.prerank`) computes the GSEA statistics here: the same
enrichment score and leading edge as gseapy (identical values), NES by the mean of the same-sign
null, nominal p and GSEA's FDR. Under gene-set permutation the null of a set depends only on its
size (and, for ``weight > 0``, on the list's values). The sets of one size therefore share their
null, drawn as one batch of ``permutations`` random subsets per set (the same number of null draws
as gseapy, so GSEA's pooled FDR keeps its resolution), vectorised; with ``weight=0`` the batches
also serve every list of the same length. 20 factors x 3 layers x Hallmark + Reactome take seconds
instead of the hour gseapy needs (bench/bench_enrich.py). p-values carry the (b + 1) / (n + 1)
correction, so none is 0. ``engine="gseapy"`` runs ``gseapy.prerank`` instead.

Modules
-------
``genesets``: :func:`parse_gmt`, :func:`check_overlap`, :func:`testable_sets`.
``genemap``: :class:`GeneMap`, :func:`gene_map_from_annotation`, :func:`build_gene_maps`.
``lists``: :func:`weight_lists`, :func:`coefficient_lists`, :func:`mofa_lists`, :func:`model_features`,
:func:`with_string_features`.
``prerank``: both engines, :func:`prerank`, :func:`prerank_lists`, :func:`factor_enrichment`,
:func:`model_enrichment`, :func:`conditional_prerank`, :func:`rank_results`,
:func:`empty_ranked_results`.
``competitive``: :func:`residual_correlation_data`, :func:`mean_set_correlation`,
:func:`competitive_test`, :func:`competitive_lists`.
``ora``: :func:`select_features`, :func:`overrepresentation`, :func:`ora_lists`, :func:`blocked_sets`
(the reduced sets of the conditional tests).
``combine``: :func:`signed_z`, :func:`combine_layers` (Stouffer), :func:`brown_combine` (Brown's method,
with :func:`layer_correlations` and :func:`m2lp_covariance`), :func:`combine_sources` (both, of the MOFA
and model tables).
``plan``: :class:`Collection`, :class:`EnrichmentPlan`, :func:`enrichment_layers`,
:func:`plan_enrichment`, :func:`run_collections`, :func:`check_enrichment_config`, :func:`make_plan`,
:func:`prerank_options`.
``download``: :data:`DOWNLOAD_HOSTS`, :func:`download_library`.

Everything public is re-exported here: import from ``moflow.enrich``. The submodules import each
other directly, never this package.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "combine": [
            "signed_z",
            "combine_layers",
            "m2lp_covariance",
            "layer_correlations",
            "brown_combine",
            "combine_sources",
        ],
        "competitive": [
            "COMPETITIVE_COLUMNS",
            "residual_correlation_data",
            "mean_set_correlation",
            "competitive_test",
            "competitive_lists",
        ],
        "download": ["DOWNLOAD_HOSTS", "download_library"],
        "genemap": ["ONE_TO_MANY", "MANY_TO_ONE", "GeneMap", "gene_map_from_annotation", "build_gene_maps"],
        "genesets": ["parse_gmt", "check_overlap", "testable_sets"],
        "lists": ["weight_lists", "coefficient_lists", "with_string_features", "mofa_lists", "model_features"],
        "ora": ["ORA_COLUMNS", "select_features", "overrepresentation", "blocked_sets", "ora_lists"],
        "plan": [
            "Collection",
            "EnrichmentPlan",
            "enrichment_layers",
            "plan_enrichment",
            "run_collections",
            "check_enrichment_config",
            "make_plan",
            "prerank_options",
        ],
        "prerank": [
            "PRERANK_COLUMNS",
            "ENGINES",
            "prerank",
            "rank_results",
            "empty_ranked_results",
            "prerank_lists",
            "factor_enrichment",
            "model_enrichment",
            "conditional_prerank",
        ],
    },
)
