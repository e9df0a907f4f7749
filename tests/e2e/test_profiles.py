"""Profiles (profiles/*): each parses, names only options Snakemake and its plugins know, marks what
a user must fill in, keeps secrets out, matches the package's optional extras, and resolves every
job's threads and resources from the size of its inputs.

No cluster or cloud is reachable here. The resolved resources come from dry runs of each profile's
resource keys (default-resources, set-resources, set-threads, groups; the executor, storage and
plugin keys taken out, profiles/default applied on top as always) on the tiny cohort, with the pipeline's
intermediate files stood in by sparse files of known sizes. Where the executor plugins are installed
(pip install -e '.[slurm,cluster-generic,kubernetes,googlebatch,aws-batch]'), their options are
checked too and the Slurm and cluster-generic profiles are dry-run whole. The cloud profiles are not
dry-run whole: their storage would be queried over the network.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from test_workflow import make_project

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

# profile -> (executor, storage provider)
PROFILES = {
    "default": (None, None),
    "slurm": ("slurm", None),
    "cluster-generic": ("cluster-generic", None),
    "cluster-generic/sge": ("cluster-generic", None),
    "cluster-generic/pbs": ("cluster-generic", None),
    "cluster-generic/lsf": ("cluster-generic", None),
    "kubernetes": ("kubernetes", "s3"),
    "googlebatch": ("googlebatch", "gcs"),
    "aws-batch": ("aws-batch", "s3"),
    "conda": (None, None),
}
# Options that belong to a plugin (checked only where it is installed) or to a cloud run.
PLUGIN_PREFIXES = {
    "slurm-": "snakemake_executor_plugin_slurm",
    "cluster-generic-": "snakemake_executor_plugin_cluster_generic",
    "kubernetes-": "snakemake_executor_plugin_kubernetes",
    "googlebatch-": "snakemake_executor_plugin_googlebatch",
    "aws-batch-": "snakemake_executor_plugin_aws_batch",
    "storage-s3-": "snakemake_storage_plugin_s3",
    "storage-gcs-": "snakemake_storage_plugin_gcs",
}
# Stand-in sizes (MiB) of intermediate matrices, per layer: large enough that threads and memory
# visibly follow them.
LAYER_MB = {"rna": 300, "protein": 40, "metabolomics": 5}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


def _snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def parse_jobs(text: str) -> list[dict]:
    """Jobs of a dry run: rule, wildcards, input, output, threads and resources (values as printed)."""
    jobs, job, indent = [], None, ""
    for line in text.splitlines():
        # members of a group job are listed indented under it
        m = re.match(r"^(\s*)(?:local)?rule (\w+):$", line)
        if m:
            indent = m.group(1) + "    "
            job = {"rule": m.group(2), "threads": 1, "wildcards": {}, "resources": {}, "input": [], "output": []}
            jobs.append(job)
            continue
        if job is None or not re.match(rf"^{indent}\w", line):
            continue
        key, _, value = line.strip().partition(": ")
        if key == "threads":
            job["threads"] = int(value)
        elif key == "wildcards":
            job["wildcards"] = dict(kv.split("=", 1) for kv in value.split(", "))
        elif key == "resources":
            job["resources"] = dict(kv.split("=", 1) for kv in value.split(", "))
        elif key in ("input", "output"):
            job[key] = value.split(", ")
    return jobs


def _mib(path: Path) -> float:
    return path.stat().st_size / 1024 / 1024


def _mb_up(mb: float) -> int:
    return int(math.ceil(mb / 256) * 256)


def _rule_sizes(rule: str) -> tuple[float, float, float, float]:
    """(memory base, memory per input MB, runtime base, runtime per input MB) as the rule declares
    them (mem_mb_for / runtime_for in rules/*.smk, calibrated by bench/bench_workflow_scale.py)."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "rules").glob("*.smk")))
    body = re.split(r"^rule (\w+):\n", text, flags=re.M)
    body = dict(zip(body[1::2], body[2::2]))[rule]

    def args(fn):
        m = re.search(fn + r"\(\s*base=([\d.]+)(?:,\s*per_input_mb=([\d.]+))?", body)
        return float(m.group(1)), float(m.group(2) or 0)

    return (*args("mem_mb_for"), *args("runtime_for"))


# ---------------------------------------------------------------------------------------------
# static checks: the YAML itself
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_is_documented_and_holds_no_secret(name):
    text = (REPO / "profiles" / name / "config.yaml").read_text()
    prof = _profile(name)
    executor, storage = PROFILES[name]
    assert prof.get("executor") == executor
    assert text.lstrip().startswith("#"), "each profile opens with a comment saying how to use it"
    # placeholders are marked, and none is left in a form Snakemake would take for a path variable
    if "fill-in" in text:
        assert "FILL IN" in text
    assert not re.search(r"['\"]<[\w-]+>", text), "use fill-in-... placeholders, not <...>"
    # no credentials: only names of environment variables may appear
    for key in prof:
        assert not re.search(r"secret|password|token|access-key", key), key
    assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN|ghp_[A-Za-z0-9]{20}", text)
    if executor:
        assert prof["jobs"] >= 1 and prof["retries"] >= 1, "cluster runs retry with more resources"
        assert prof["default-resources"]["runtime"] > 0
    if storage:
        assert prof["default-storage-provider"] == storage
        assert prof["default-storage-prefix"].startswith(f"{storage}://fill-in-bucket/")
        assert prof["container-image"].startswith("fill-in-")
    else:
        assert "default-storage-provider" not in prof


def test_default_profile_is_the_local_one():
    prof = _profile("default")
    assert prof["cores"] == "all"
    assert prof["show-failed-logs"] is True
    # it is applied on top of every --profile: nothing executor-specific may live here
    assert not set(prof) & {"executor", "jobs", "retries", "default-resources", "set-resources"}


def test_slurm_profile_works_without_accounting():
    prof = _profile("slurm")
    assert prof["slurm-status-command"] == "squeue"
    assert prof["slurm-init-seconds-before-status-checks"] <= 5
    for key in ("slurm_partition", "slurm_account"):
        assert key in (REPO / "profiles/slurm/config.yaml").read_text()  # documented placeholder
        assert key not in prof["default-resources"]  # but not set: the cluster's defaults apply


def test_conda_profile_uses_pinned_envs():
    assert _profile("conda")["software-deployment-method"] == "conda"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = dict(d.split("==") for d in project["dependencies"] if "==" in d)
    named = {
        m
        for smk in (REPO / "rules").glob("*.smk")
        for m in re.findall(r'conda:\s*\n\s*"\.\./envs/([\w-]+\.yaml)"', smk.read_text())
    }
    assert named and named <= {p.name for p in (REPO / "envs").glob("*.yaml")}
    for env in named:
        deps = yaml.safe_load((REPO / "envs" / env).read_text())["dependencies"]
        for dep in (d for d in deps if isinstance(d, str) and "=" in d):
            pkg, version = (s.strip() for s in dep.split("=", 1))
            if pkg in pins:
                assert version == pins[pkg], f"envs/{env}: {pkg} {version} != {pins[pkg]}"


def test_extras_install_each_profiles_plugins():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name, (executor, storage) in PROFILES.items():
        if not executor:
            continue
        extra = extras[name.split("/")[0]]
        assert any(d.startswith(f"snakemake-executor-plugin-{executor}==") for d in extra), name
        if storage:
            assert any(d.startswith(f"snakemake-storage-plugin-{storage}==") for d in extra), name
            assert any(d.startswith(f"snakemake-storage-plugin-{storage}==") for d in extras[storage])
    # the pins keep pandas where the core dependencies put it (the slurm plugin alone pulls 3.x)
    assert "pandas==2.3.3" in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="module")
def cli_options():
    """Every option Snakemake knows here, with those of the installed plugins."""
    from snakemake.cli import get_argument_parser

    return set(get_argument_parser()._option_string_actions)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_names_only_known_options(name, cli_options):
    unknown, unchecked = [], []
    for key in _profile(name):
        plugin = next((m for p, m in PLUGIN_PREFIXES.items() if key.startswith(p)), None)
        if plugin and not _installed(plugin):
            unchecked.append(key)
        elif f"--{key}" not in cli_options:
            unknown.append(key)
    assert not unknown, f"profiles/{name}: unknown options {unknown}"


# ---------------------------------------------------------------------------------------------
# dry runs: resolved threads and resources
# ---------------------------------------------------------------------------------------------


# The keys that decide a job's threads and resources (the others do not change a dry run's jobs).
RESOURCE_KEYS = (
    "cores",
    "default-resources",
    "set-resources",
    "set-threads",
    "resources",
    "groups",
    "group-components",
    "max-threads",
)


def _local_copy(name: str) -> dict:
    """What of the profile applies without its executor, storage and plugins: the resource keys."""
    return {k: v for k, v in _profile(name).items() if k in RESOURCE_KEYS}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The tiny cohort, with every intermediate file of the DAG stood in by a (sparse) file; one CV split
    per job, as on a cluster (cv_fold jobs beside fit_cohort)."""
    evaluation = {"folds": 3, "repeats": 1, "permutations": 200, "splits_per_job": 1}
    root = make_project(
        tmp_path_factory.mktemp("profiles"), evaluation={**evaluation, "test_column": "split", "test_value": "test"}
    )
    res = _snakemake("-s", str(REPO / "Snakefile"), "-d", str(root), "-n", "--cores", "1", "--workflow-profile", "none")
    assert res.returncode == 0, res.stderr[-3000:]
    outputs = {o for job in parse_jobs(res.stdout + res.stderr) for o in job["output"]}
    assert any(o.startswith("results/inputs/") for o in outputs)
    for rel in outputs:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        layer = next((name for name in LAYER_MB if re.search(rf"(^|/){name}\.parquet$", rel)), None)
        with open(path, "wb") as fh:
            fh.truncate(LAYER_MB[layer] * 1024 * 1024 if layer else 4096)
    return root


@pytest.fixture(scope="module")
def dry_runs(project, tmp_path_factory):
    """Dry runs of every job of every profile, at once (each is mostly Snakemake start-up)."""
    work = tmp_path_factory.mktemp("profile-copies")
    # one dry run per distinct set of resource keys (the cluster-generic flavours share theirs)
    copies, runs, same_as = {}, {}, {}
    for name in PROFILES:
        text = yaml.safe_dump(_local_copy(name), sort_keys=True)
        if text not in copies:
            folder = work / name.replace("/", "-")
            folder.mkdir()
            (folder / "config.yaml").write_text(text)
            copies[text] = name
            runs[name] = ["--profile", str(folder)]
        same_as[name] = copies[text]
    # whole profiles where the plugin is there and no storage needs the network
    if _installed("snakemake_executor_plugin_slurm"):
        runs["slurm (whole)"] = ["--profile", "profiles/slurm"]
    if _installed("snakemake_executor_plugin_cluster_generic"):
        runs["cluster-generic (whole)"] = ["--profile", "profiles/cluster-generic"]

    def run(args):
        return _snakemake("-s", str(REPO / "Snakefile"), "-d", str(project), "-n", "--forceall", "--cores", "64", *args)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        done = dict(zip(runs, pool.map(run, runs.values())))
    return {
        **{name: done[first] for name, first in same_as.items()},
        **{k: v for k, v in done.items() if k not in PROFILES},
    }


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_resources_follow_input_size(name, dry_runs, project):
    res = dry_runs[name]
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = parse_jobs(res.stdout + res.stderr)
    rules = {j["rule"] for j in jobs}
    assert {"validate_inputs", "fit_cohort", "cv_fold", "report"} <= rules
    by_rule = {}
    for job in jobs:
        by_rule.setdefault(job["rule"], []).append(job)
        assert job["threads"] >= 1
        for key in ("mem_mb", "runtime"):
            if key in job["resources"]:
                assert job["resources"][key].isdigit(), (job["rule"], key, job["resources"][key])
        if PROFILES[name][0] and job["rule"] != "all":
            # cluster and cloud jobs always carry memory and a time limit
            assert {"mem_mb", "runtime"} <= set(job["resources"]), job

    sheets = _mib(project / "config" / "samples.tsv") + _mib(project / "config" / "omics.tsv")
    raw = sum(_mib(p) for p in (project / "data").iterdir() if p.is_file() and p.suffix != ".gmt")
    (validate,) = by_rule["validate_inputs"]
    assert validate["threads"] == 1
    mb, mslope, rb, rslope = _rule_sizes("validate_inputs")
    assert int(validate["resources"]["mem_mb"]) == _mb_up(mb + mslope * (raw + sheets))
    assert int(validate["resources"]["runtime"]) == max(1, math.ceil(rb + rslope * (raw + sheets)))

    # fit_cohort: every layer's preprocessing, one layer in memory at a time (memory follows the largest
    # matrix's cells, read from the Parquet footers, which these stand-in files lack;
    # bench/_resource_check.py checks it), then the strategies
    (fit,) = by_rule["fit_cohort"]
    size = sum(_mib(project / f) for f in fit["input"])
    assert size > sum(LAYER_MB.values())
    mb, mslope, rb, rslope = _rule_sizes("fit_cohort")
    assert fit["threads"] == min(4, 1 + int(size // 200)) == 2  # the 300 MiB layer: a second thread
    assert int(fit["resources"]["mem_mb"]) == _mb_up(mb + mslope * size)
    assert int(fit["resources"]["runtime"]) == max(1, math.ceil(rb + rslope * size))

    if name == "googlebatch":
        # the plugin reads its own names: CPUs from threads, memory on the rules' scale
        for job in jobs:
            if job["rule"] != "all":
                assert int(job["resources"]["googlebatch_cpu_milli"]) == 1000 * job["threads"]
                assert float(job["resources"]["googlebatch_memory"]) >= 2048


@pytest.mark.parametrize("whole", ["slurm (whole)", "cluster-generic (whole)"])
def test_whole_cluster_profile_dry_runs(whole, dry_runs):
    if whole not in dry_runs:
        pytest.skip(f"executor plugin not installed (pip install -e '.[{whole.split()[0]}]')")
    res = dry_runs[whole]
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"Using profiles profiles/{whole.split()[0]} and workflow specific profile" in res.stderr
    jobs = parse_jobs(res.stdout + res.stderr)
    assert {"validate_inputs", "fit_cohort", "cv_fold", "report"} <= {j["rule"] for j in jobs}


def test_every_rule_sizes_its_resources_from_its_inputs():
    """Every rule that does work declares threads, and memory and run time through the size-based
    functions of rules/common.smk (not constants), so that a cluster job asks for what its data need."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "rules").glob("*.smk")))
    blocks = re.split(r"^rule (\w+):\n", text, flags=re.M)[1:]
    rules = dict(zip(blocks[::2], blocks[1::2]))
    assert {"simulate_demo", "validate_inputs", "fit_cohort", "cv_fold", "report", "enrich_download"} <= set(rules)
    for name, body in rules.items():
        body = body.split("\n\n\n")[0]  # up to the next top-level statement
        if "    output:" not in body:  # a target rule: no job runs
            continue
        # report_threads, cohort_threads: forked workers (design refits; the CV beside the cohort fit)
        threads = r"^    threads: (1|threads_for\(|report_threads|cohort_threads)"
        assert re.search(threads, body, flags=re.M), f"rule {name}: no threads"
        if name == "predict":  # predict mode (rules/model.smk) has no common.smk: the model room sizes it
            assert "mem_mb=predict_mem_mb," in body and "runtime=predict_runtime," in body, name
            continue
        assert "mem_mb=mem_mb_for(" in body, f"rule {name}: mem_mb is not mem_mb_for(...)"
        assert "runtime=runtime_for(" in body, f"rule {name}: runtime is not runtime_for(...)"
