"""Gene sets: parse GMT lines, check that a layer's genes are in them, restrict them to a list."""

from __future__ import annotations

from moflow.errors import InputError


def parse_gmt(lines: list[str], *, path: str = "gene sets") -> dict[str, list[str]]:
    """Parse GMT lines: name, description, genes (tab-separated). Bad lines are reported by number.

    Parameters
    ----------
    lines : list of str
        The file's lines; blank lines and lines starting with ``#`` are skipped.
    path : str
        The file, named in the error.

    Returns
    -------
    dict of str to list of str
        Set name -> its genes (duplicates removed, order kept).
    """
    sets: dict[str, list[str]] = {}
    problems = []
    for i, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.rstrip("\n").split("\t")]
        if len(parts) < 3 or not parts[0]:
            problems.append(f"line {i}: needs a name, a description and at least one gene, tab-separated")
            continue
        genes = [g for g in parts[2:] if g]
        if not genes:
            problems.append(f"line {i} ('{parts[0]}'): no genes")
            continue
        if parts[0] in sets:
            problems.append(f"line {i}: gene set '{parts[0]}' defined twice")
            continue
        sets[parts[0]] = list(dict.fromkeys(genes))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise InputError(f"{path}: malformed GMT ({shown}). Fix or delete these lines.")
    if not sets:
        raise InputError(f"{path}: no gene set found. A GMT file has one set per line: name, description, genes.")
    return sets


def check_overlap(gene_sets: dict[str, list[str]], genes, *, path: str, layer: str, min_overlap: float) -> float:
    """Fraction of the layer's genes that appear in any set; stop below ``min_overlap``.

    Parameters
    ----------
    gene_sets : dict of str to list of str
        The collection.
    genes : iterable of str
        The layer's genes (or features).
    path, layer : str
        The collection's file and the layer, named in the error.
    min_overlap : float
        The smallest fraction accepted; below it InputError is raised.

    Returns
    -------
    float
        The fraction.
    """
    genes = set(genes)
    in_sets = set().union(*gene_sets.values())
    frac = len(genes & in_sets) / max(len(genes), 1)
    if frac < min_overlap:
        example = next(iter(sorted(genes)), "")
        raise InputError(
            f"{path}: only {len(genes & in_sets)} of the {len(genes)} genes of layer '{layer}' "
            f"({frac:.1%}) appear in any gene set (minimum {min_overlap:.0%}). Are the identifiers of the same "
            f"type (e.g. symbols like '{example}' vs Ensembl IDs)? Map features to genes or use a matching GMT."
        )
    return frac


def testable_sets(gene_sets: dict[str, list[str]], universe, *, min_size: int, max_size: int) -> dict[str, list[str]]:
    """Each set restricted to ``universe``, kept when its size there lies in [min_size, max_size]."""
    universe = set(universe)
    out = {}
    for name, genes in gene_sets.items():
        members = list(dict.fromkeys(g for g in genes if g in universe))
        if min_size <= len(members) <= max_size:
            out[name] = members
    return out
