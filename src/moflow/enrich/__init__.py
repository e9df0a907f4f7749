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
``lists``: :func:`weight_lists`, :func:`coefficient_lists`.
``prerank``: both engines, :func:`prerank`, :func:`prerank_lists`, :func:`factor_enrichment`,
:func:`model_enrichment`, :func:`conditional_prerank`, :func:`rank_results`.
``competitive``: :func:`residual_correlation_data`, :func:`mean_set_correlation`,
:func:`competitive_test`, :func:`competitive_lists`.
``ora``: :func:`bh`, :func:`select_features`, :func:`overrepresentation`, :func:`ora_lists`.
``combine``: :func:`signed_z`, :func:`combine_layers`.
``plan``: :class:`Collection`, :class:`EnrichmentPlan`, :func:`enrichment_layers`,
:func:`plan_enrichment`, :func:`run_collections`, :func:`check_enrichment_config`.
``download``: :data:`DOWNLOAD_HOSTS`, :func:`download_library`.

Everything public is re-exported here: import from ``moflow.enrich``. The submodules import each
other directly, never this package.
"""

from __future__ import annotations

from moflow.enrich.combine import combine_layers, signed_z
from moflow.enrich.competitive import (COMPETITIVE_COLUMNS, competitive_lists, competitive_test, mean_set_correlation,
                          residual_correlation_data)
from moflow.enrich.download import DOWNLOAD_HOSTS, download_library
from moflow.enrich.genemap import MANY_TO_ONE, ONE_TO_MANY, GeneMap, build_gene_maps, gene_map_from_annotation
from moflow.enrich.genesets import check_overlap, parse_gmt, testable_sets
from moflow.enrich.lists import coefficient_lists, weight_lists
from moflow.enrich.ora import ORA_COLUMNS, bh, ora_lists, overrepresentation, select_features
from moflow.enrich.plan import (Collection, EnrichmentPlan, check_enrichment_config, enrichment_layers, plan_enrichment,
                   run_collections)
from moflow.enrich.prerank import (ENGINES, PRERANK_COLUMNS, conditional_prerank, factor_enrichment, model_enrichment, prerank,
                      prerank_lists, rank_results)

__all__ = [
    "COMPETITIVE_COLUMNS", "DOWNLOAD_HOSTS", "ENGINES", "MANY_TO_ONE", "ONE_TO_MANY", "ORA_COLUMNS", "PRERANK_COLUMNS",
    "Collection", "EnrichmentPlan", "GeneMap",
    "bh", "build_gene_maps", "check_enrichment_config", "check_overlap", "coefficient_lists", "combine_layers",
    "competitive_lists", "competitive_test", "conditional_prerank", "download_library", "enrichment_layers",
    "factor_enrichment", "gene_map_from_annotation", "mean_set_correlation", "model_enrichment", "ora_lists",
    "overrepresentation", "parse_gmt", "plan_enrichment", "prerank", "prerank_lists", "rank_results",
    "residual_correlation_data", "run_collections", "select_features", "signed_z", "testable_sets",
    "weight_lists",
]
