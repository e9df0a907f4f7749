"""config/README.md is generated from schemas/config.schema.yaml by tools/config_reference.py.

The page must be current (regenerate with ``python tools/config_reference.py``) and must name every
leaf option of the schema; a tiny planted schema pins down the lines the generator writes.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "tools" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _leaf_keys(schema: dict, node: dict, prefix: str = "") -> list[str]:
    """Every leaf option of the fully expanded schema (refs resolved; a map of objects adds a
    <placeholder>), found independently of the generator's walk."""
    if "$ref" in node:
        node = {**gen.resolve_pointer(schema, node["$ref"]), **{k: v for k, v in node.items() if k != "$ref"}}
    keys = []
    for name, child in node.get("properties", {}).items():
        key = f"{prefix}.{name}" if prefix else name
        resolved = gen.resolve_pointer(schema, child["$ref"]) if "$ref" in child else child
        keys.extend(_leaf_keys(schema, child, key) if gen._is_section(resolved, schema) else [key])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        resolved = gen.resolve_pointer(schema, extra["$ref"]) if "$ref" in extra else extra
        if gen._is_section(resolved, schema):
            keys.extend(_leaf_keys(schema, extra, f"{prefix}.{gen.PLACEHOLDERS.get(prefix, '<name>')}"))
    return keys


def _missing_from(page: str, leaves: list[str]) -> list[str]:
    """Leaves the page names neither directly nor through a row `prefix` that says its options are
    those of another key (`kind_defaults.binary.impute`: options as in `preprocess.<layer>.impute`)."""
    pointers = dict(re.findall(r"^\| `([^`]+)` \|.*options as in `([^`]+)` \|$", page, flags=re.M))
    missing = []
    for leaf in leaves:
        if f"| `{leaf}` |" in page:
            continue
        parts = leaf.split(".")
        prefixes = [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]
        target = next((pointers[p] + leaf[len(p) :] for p in prefixes if p in pointers), None)
        if target is None or f"| `{target}` |" not in page:
            missing.append(leaf)
    return missing


def test_config_readme_is_current():
    expected = gen.render(gen.load_schema())
    current = gen.OUTPUT.read_text(encoding="utf-8") if gen.OUTPUT.exists() else ""
    assert current == expected, gen.STALE


def test_every_leaf_option_is_on_the_page():
    schema = gen.load_schema()
    page = gen.render(schema)
    leaves = _leaf_keys(schema, schema)
    assert {"integration.mofa.factors", "preprocess.<layer>.impute.k", "kind_defaults.binary.impute.k"} <= set(leaves)
    missing = _missing_from(page, leaves)
    assert not missing, f"options of the schema missing from config/README.md: {missing}"


def test_render_is_deterministic():
    schema = gen.load_schema()
    assert gen.render(schema) == gen.render(gen.load_schema())


TINY = {
    "type": "object",
    "properties": {
        "seed": {"type": "integer", "minimum": 0, "default": 42},
        "mode": {"enum": ["fast", "slow"], "default": "fast", "description": "how | hard"},
        "model": {
            "type": "object",
            "default": {},
            "description": "the model",
            "properties": {
                "factors": {"type": "integer", "minimum": 1, "default": 8, "description": "number of factors"},
                "tol": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1, "default": None},
                "sizes": {"type": "array", "items": {"type": "integer"}, "default": [5, 10]},
                "step": {"$ref": "#/$defs/step", "default": {"method": "knn", "k": 10}},
            },
        },
        "layers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/step"}},
    },
    "$defs": {
        "step": {"type": "object", "properties": {"method": {"enum": ["knn", "none"]}, "k": {"type": "integer"}}}
    },
}


def test_planted_schema_gives_the_expected_lines():
    page = gen.render(TINY)
    lines = page.splitlines()
    for line in [
        "## Top level",
        "| `seed` | integer | `42` | >= 0 |  |",
        "| `mode` | string | `fast` | `fast`, `slow` | how \\| hard |",
        "## `model`",
        "The model.",
        "| `model.factors` | integer | `8` | >= 1 | number of factors |",
        "| `model.tol` | number or null | `null` | > 0; <= 1 |  |",
        "| `model.sizes` | list of integer | `[5, 10]` |  |  |",
        "## `model.step`",
        "| `model.step.method` | string | not set | `knn`, `none` |  |",
        "| `layers.<name>` | mapping | not set |  | options as in `model.step` |",
    ]:
        assert line in lines, f"missing line {line!r} in:\n{page}"
    assert gen.undocumented(TINY) == ["seed", "model.tol", "model.sizes", "model.step.method", "model.step.k"]
    assert _missing_from(page, _leaf_keys(TINY, TINY)) == []
    assert _missing_from(page.replace("| `model.factors` |", "| `model.n` |"), _leaf_keys(TINY, TINY)) == [
        "model.factors"
    ]


def test_yaml_values_are_written_as_yaml():
    assert gen.yaml_value("") == "''"
    assert gen.yaml_value(None) == "null"
    assert gen.yaml_value(0.01) == "0.01"
    assert gen.yaml_value({"method": "knn", "k": 10}) == "{method: knn, k: 10}"
    assert gen.yaml_value(";") == ";"
    assert gen.yaml_value("yes") == "'yes'"


def test_check_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gen, "OUTPUT", tmp_path / "README.md")
    (tmp_path / "README.md").write_text("old\n")
    assert gen.main(["--check"]) == 1
    assert capsys.readouterr().err.strip() == gen.STALE
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0


@pytest.mark.parametrize("ref", ["#/$defs/step", "#/$defs/step/properties/k"])
def test_local_refs_resolve(ref):
    assert isinstance(gen.resolve_pointer(TINY, ref), dict)
