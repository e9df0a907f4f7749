"""The report's section "Data scarcity" (:func:`scarcity_parts`).

Whether augmentation helped, and whether the synthetic cohort is safe to share by the tests it passed.
"""

from __future__ import annotations

import html

import pandas as pd

from moflow.report.html import table

_METHOD = {"smote": "SMOTE", "latent": "latent-model samples"}
_METRIC = {"balanced_accuracy": "balanced accuracy", "harrell_c": "Harrell's C", "r2": "R²"}


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def augmentation_sentence(aug: pd.DataFrame) -> str:
    """One sentence: whether any augmentation scored better (or worse) than its strategy as it is."""
    if aug is None or not len(aug):
        return ""
    metric = _METRIC.get(str(aug["metric"].iloc[0]), str(aug["metric"].iloc[0]))
    ok = aug.dropna(subset=["p_holm"])
    helped = ok[(ok["p_holm"] < 0.05) & (ok["difference"] > 0)].sort_values("difference", ascending=False)
    hurt = ok[(ok["p_holm"] < 0.05) & (ok["difference"] < 0)].sort_values("difference")
    methods = " or ".join(dict.fromkeys(_METHOD.get(m, m) for m in aug["method"]))
    if len(helped):
        r = helped.iloc[0]
        out = (
            f"Augmentation helped: {r['augmented']} scored {r['difference']:+.3f} {metric} over {r['strategy']} "
            f"on the same splits (95% CI {r['difference_lo']:+.3f} to {r['difference_hi']:+.3f}, "
            f"Holm-adjusted {_p(r['p_holm'])})."
        )
    else:
        top = aug.sort_values("difference", ascending=False).iloc[0]
        out = (
            f"Augmentation did not help: no strategy scored better with {methods} than without on the same splits "
            f"(the largest difference, {top['augmented']}, {top['difference']:+.3f} {metric}, 95% CI "
            f"{top['difference_lo']:+.3f} to {top['difference_hi']:+.3f})."
        )
    if len(hurt):
        r = hurt.iloc[0]
        out += f" It hurt {r['strategy']}: {r['augmented']} {r['difference']:+.3f} (Holm-adjusted {_p(r['p_holm'])})."
    return out


def synthetic_sentence(quality: pd.DataFrame, n_samples: int | None = None) -> str:
    """One sentence: safe to share by these tests (every check passed), or which checks failed."""
    if quality is None or not len(quality):
        return ""
    size = f" ({n_samples} samples)" if n_samples else ""
    failed = quality[~quality["passed"].astype(bool)]
    if not len(failed):
        return (
            f"The synthetic cohort{size} is safe to share by these tests: every fidelity, utility and privacy "
            "check passed (results/synthetic/quality.tsv); no test proves that no patient can be recognised."
        )
    what = "; ".join(dict.fromkeys(f"{r['aspect']}: {r['check']} ({r['scope']})" for _, r in failed.iterrows()))
    privacy = (failed["aspect"] == "privacy").any()
    return (
        f"The synthetic cohort{size} is not safe to share by these tests: "
        + what
        + (
            " failed. Its samples lie nearer the samples it was made from than real unseen ones do; do not share it."
            if privacy
            else " failed; it passed the privacy checks, but is a weaker copy of the cohort than these tests ask."
        )
    )


def scarcity_parts(augmentation: pd.DataFrame | None, quality: pd.DataFrame | None, n_synthetic=None) -> dict | None:
    """The section's sentences (for the verdict) and HTML, or None where neither table is there.

    Parameters
    ----------
    augmentation : pandas.DataFrame, optional
        :func:`moflow.scarcity.augment.augmentation_table`.
    quality : pandas.DataFrame, optional
        :func:`moflow.scarcity.synthesize.quality_table`.
    n_synthetic : int, optional
        The synthetic cohort's size.
    """
    has_aug = augmentation is not None and len(augmentation)
    has_q = quality is not None and len(quality)
    if not (has_aug or has_q):
        return None
    sentences, body = [], []
    if has_aug:
        s = augmentation_sentence(augmentation)
        sentences.append(s)
        body += [
            "<h3>Augmentation inside the folds</h3>",
            f"<p>{html.escape(s)}</p>",
            table(augmentation),
            '<p class="note">Each augmented row (<code>&lt;strategy&gt;+smote</code>, <code>+latent</code>) is the '
            "strategy fit on its training side with new samples of the rarer classes, drawn after that side's "
            "preprocessing from its own samples only; the held-out samples are real. difference: with minus "
            "without on the same splits, its interval and t-test corrected for overlapping training sets "
            "(Nadeau-Bengio), p_holm adjusted over every augmented row.</p>",
        ]
    if has_q:
        s = synthetic_sentence(quality, n_synthetic)
        sentences.append(s)
        body += [
            "<h3>Synthetic cohort</h3>",
            f"<p>{html.escape(s)}</p>",
            table(quality),
            '<p class="note">Fidelity compares the synthetic samples with those the generator was fit on, beside the '
            "same for real samples it never saw (reference); utility trains the strategies on a synthetic copy of "
            "each outer fold's training side and scores them on its real held-out samples, beside training on the "
            "real side; privacy asks whether synthetic samples lie nearer the generator's samples than real unseen "
            "ones do, and whether an attacker can tell which real samples trained it. With few held-out samples "
            "these checks have little power: a pass is no proof.</p>",
        ]
    return {"sentences": [s for s in sentences if s], "html": "".join(body)}
