"""Open a report in headless Chromium (Debian's package, driven by playwright; no browser is ever
downloaded) and check what a reader would meet: no JavaScript error, no broken image, no request
leaving the file, a verdict on the first screen, tables that sort, tooltips on the interactive
figures, nothing wider than the page. Saves screenshots under the test's temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """The Chromium executable, or skip with the reason."""
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    return exe


def open_report(html_file: Path, tmp_path: Path, *, name: str = "report") -> dict:
    """Render ``html_file``, run the checks, save ``<name>_first_screen.png`` and ``<name>_full.png`` in
    ``tmp_path``; returns what was seen (errors, requests, broken images, sizes, sort and hover results)."""
    exe = chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    seen = {"errors": [], "requests": []}
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / f"{name}-profile"),
            executable_path=exe,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            offline=True,
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: seen["errors"].append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(f"uncaught: {e}"))
            page.on("requestfailed", lambda r: seen["errors"].append(f"request failed: {r.url}"))
            page.on(
                "request",
                lambda r: None if r.url.startswith(("file:", "data:", "about:")) else seen["requests"].append(r.url),
            )
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(tmp_path / f"{name}_first_screen.png"))
            seen["broken_images"] = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt)"
            )
            seen["n_images"] = page.evaluate("document.images.length")
            seen["page_width"] = page.evaluate("document.documentElement.scrollWidth")
            seen["viewport_width"] = 1280
            box = page.locator("#verdict").bounding_box()
            seen["verdict_top"] = box["y"] if box else None
            seen["verdict_text"] = page.locator("#verdict .headline").inner_text() if box else ""
            seen["n_sortable"] = page.locator("table.sortable").count()
            seen["wide_tables_in_box"] = page.evaluate(
                "Array.from(document.querySelectorAll('table.tbl')).every(t => t.parentElement.classList.contains('tw')"
                " && t.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)"
            )
            # sort the first sortable table by its second column, twice: ascending then descending
            seen["sorted"] = None
            tables = page.locator("table.sortable")
            for i in range(tables.count()):
                t = tables.nth(i)
                if (
                    t.locator("tbody tr").count() > 2
                    and t.locator("thead th").count() > 1
                    and t.locator("tbody td.n").count()
                ):
                    col = page.evaluate(
                        "t => Array.from(t.tBodies[0].rows[0].cells).findIndex(c => c.classList.contains('n'))",
                        t.element_handle(),
                    )
                    head = t.locator("thead th").nth(col)
                    values = f"t => Array.from(t.tBodies[0].rows).map(r => parseFloat(r.cells[{col}].dataset.v))"
                    head.click()
                    asc = page.evaluate(values, t.element_handle())
                    head.click()
                    desc = page.evaluate(values, t.element_handle())
                    seen["sorted"] = {"asc": asc, "desc": desc}
                    break
            # hover a sample of an interactive figure: a tooltip, and the sample lit in every panel
            seen["tooltips"] = page.locator("svg.fig title").count()
            pt = page.locator(".linked circle.pt").first
            seen["highlighted"] = 0
            if pt.count():
                pt.scroll_into_view_if_needed()
                pt.hover()
                sample = pt.get_attribute("data-s")
                seen["hover_sample"] = sample
                seen["highlighted"] = page.locator(f'.linked circle.hl[data-s="{sample}"]').count()
            page.screenshot(path=str(tmp_path / f"{name}_full.png"), full_page=True)
        finally:
            ctx.close()
    return seen


def assert_clean(seen: dict) -> None:
    """What every report must pass in a browser."""
    assert not seen["errors"], seen["errors"]
    assert not seen["requests"], f"the report fetched from outside the file: {seen['requests']}"
    assert not seen["broken_images"], f"broken images: {seen['broken_images']}"
    assert seen["page_width"] <= seen["viewport_width"], "something is wider than the page"
    assert seen["wide_tables_in_box"]
    assert seen["verdict_top"] is not None and seen["verdict_top"] < 400, "the verdict is not on the first screen"
    assert seen["n_sortable"] > 0 and seen["sorted"] is not None
    asc = [v for v in seen["sorted"]["asc"] if v == v]
    desc = [v for v in seen["sorted"]["desc"] if v == v]
    assert asc == sorted(asc) and desc == sorted(desc, reverse=True)
    assert seen["tooltips"] > 0
    assert seen["highlighted"] >= 2, "hovering a sample does not light it up in every panel"
