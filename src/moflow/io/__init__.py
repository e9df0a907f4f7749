"""All file reading and writing of the package.

Every other module takes and returns in-memory objects (DataFrames, arrays, estimators).

* :mod:`.tables`: raw matrices as read (CSV, TSV, Parquet, AnnData / MuData), the sheets, Parquet
  matrices, TSV results tables, the demo cohort's files, and a task's outputs by file type;
* :mod:`.scverse_files`: AnnData ``.h5ad`` and MuData ``.h5mu`` files (obs, matrices, elements; MuData written);
* :mod:`.files`: JSON, GMT gene sets, annotation tables and the files config ``enrichment`` names, text,
  bytes, pickles, log files, checksums, the git commit of a checkout;
* :mod:`.atomic`: the temporary-file-and-rename write every writer goes through, and the one-line
  :class:`~moflow.io.atomic.WriteError` of a full disk or a read-only folder;
* :mod:`.raw_text`: file suffixes, gzip / UTF-8 decoding and the field counts of text tables.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "files": [
            "write_json",
            "read_json",
            "read_gmt_lines",
            "write_gmt",
            "read_annotation",
            "enrichment_paths",
            "read_enrichment_files",
            "write_text",
            "save_pickle",
            "load_pickle",
            "open_log",
            "read_bytes",
            "write_bytes",
            "git_commit",
            "sha256",
        ],
        "atomic": ["WriteError", "write_error", "atomic_write"],
        "raw_text": ["TABLE_SUFFIXES", "ANNDATA_SUFFIXES", "file_suffix", "decode_file", "check_field_counts"],
        "scverse_files": ["read_h5_element", "check_modality", "read_obs_sheet", "read_anndata_matrix", "write_mudata"],
        "tables": [
            "read_raw_table",
            "read_sheet",
            "write_matrix",
            "read_matrix",
            "write_table",
            "ID_COLUMNS",
            "read_table",
            "LazyTables",
            "write_outputs",
            "write_demo_cohort",
        ],
    },
)
