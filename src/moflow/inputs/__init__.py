"""The inputs stage (``rules/inputs.smk``, and the start-up checks ``rules/common.smk`` runs before any job).

* :mod:`.startup`: the checks made while the workflow is parsed (config file, sheets, every name config gives);
* :mod:`.clinical_columns`: the clinical covariates read and checked (absent, constant, the outcome, numbers
  mixed with words, a copy of the outcome);
* :mod:`.sheets`: the sample sheet (schema, outcome, training samples) and the omics sheet (layers, references
  to sample-sheet columns, AnnData / MuData sources);
* :mod:`.sheet_labels`: checks across a sheet's rows: a label spelt several ways, an external-test value
  that matches no sample, samples without a batch, one file named as two layers;
* :mod:`.matrices`: each layer's matrix: orientation, parsing to numbers, alignment with the sample sheet,
  gene symbols Excel turned into dates, a layer left without features;
* :mod:`.geneset_files`: gene-set (GMT) files on their own and against the layers' features;
* :mod:`.survival_columns`: the follow-up time and event columns of a survival outcome;
* :mod:`.scverse`: AnnData / MuData objects as the tables the TSV route gives;
* :mod:`.subtype_checks`: a config without an outcome, and the subtype stage's settings against the cohort;
* :mod:`.input_check`: every input of a run checked at once (rule validate_inputs).

Every failure raises an :class:`~moflow.errors.InputError` whose message names the file, the row or
column, and the fix.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "input_check": ["check_inputs"],
        "subtype_checks": ["check_without_outcome", "check_subtypes"],
        "geneset_files": ["check_gene_set_file", "gene_set_layers", "check_gene_set_overlap"],
        "matrices": ["check_orientation", "parse_matrix", "check_gene_symbols", "align_layer", "check_layer_not_empty"],
        "scverse": [
            "ANNDATA_SUFFIXES",
            "anndata_suffix",
            "source_label",
            "obs_to_sheet",
            "anndata_frame",
            "var_to_annotation",
        ],
        "sheets": [
            "KINDS",
            "AUTO_CONTINUOUS_MIN_VALUES",
            "check_sheet_values",
            "check_samples_sheet",
            "check_omics_sheet",
            "anndata_sources",
        ],
        "clinical_columns": ["BLANKS", "clinical_frame", "column_kinds", "check_clinical", "is_copy"],
        "sheet_labels": [
            "sheet_lines",
            "sample_locations",
            "LISTED",
            "check_label_spellings",
            "check_test_marks",
            "check_batch_cells",
            "check_sources_once",
        ],
        "startup": [
            "check_config_file",
            "check_config_layers",
            "check_config_columns",
            "check_clinical_columns",
            "check_site_column",
            "check_site_batches",
            "check_design_metric",
            "check_recalibration",
            "check_augment",
            "check_synthesize_strategies",
            "check_design_strategies",
            "regulator_edges",
            "check_sample_labels",
            "check_startup",
        ],
        "survival_columns": [
            "EVENT_CODINGS",
            "parse_time_labelled",
            "parse_event_labelled",
            "parse_time",
            "parse_event",
            "check_survival_columns",
        ],
    },
)
