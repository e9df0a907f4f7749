"""The report page's building blocks.

The self-contained HTML shell (style, a small inline script), tables that scroll inside their box and sort by
a click on a header, embedded images.

No network: the page carries its style and script inline and its figures as data URIs or inline SVG,
so it opens offline from a single file. Nothing here touches files.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd

PALETTE = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000"]


def esc(value) -> str:
    """The value as text, HTML-escaped (quotes included)."""
    return html.escape(str(value))


def table(df: pd.DataFrame, digits: int = 3, max_rows: int = 200, *, caption: str | None = None) -> str:
    """A sortable table (click a header) in a box that scrolls both ways.

    At most ``max_rows`` rows, with a note naming how many were left out. Numbers are shown with ``digits``
    significant digits and sort as numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (its index is not shown).
    digits : int
        Significant digits of floating-point numbers.
    max_rows : int
        The most rows shown.
    caption : str, optional
        The table's caption.

    Returns
    -------
    str
        The HTML.
    """
    d = df.head(max_rows)
    numeric = [pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c]) for c in d.columns]
    head = "".join(('<th class="n">' if n else "<th>") + f"{esc(c)}</th>" for c, n in zip(d.columns, numeric))
    rows = []
    for rec in d.itertuples(index=False):
        cells = []
        for v, n in zip(rec, numeric):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                cells.append("<td></td>")
            elif n and isinstance(v, (float, np.floating)):
                cells.append(f'<td class="n" data-v="{float(v)!r}">{v:.{digits}g}</td>')
            elif n:
                cells.append(f'<td class="n" data-v="{v}">{esc(v)}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="note">{len(df) - max_rows} more rows not shown (of {len(df)}); the full table is in results/.</p>'
        if len(df) > max_rows
        else ""
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="tw"><table class="tbl sortable">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{more}"
    )


def img(png: bytes, alt: str) -> str:
    """An ``<img>`` tag that embeds the PNG bytes ``png`` as a data URI, with the alternative text ``alt``."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'


def fdr_text(v: float) -> str:
    """An FDR as text: two significant digits, or "below the permutation resolution" for 0.

    gseapy reports 0 when no permutation reached the observed score.
    """
    return "below the permutation resolution" if v == 0 else f"{v:.2g}"


def details(summary: str, body: str, *, open_: bool = False) -> str:
    """A folded block (click to open): for figures a reader looks at on demand."""
    return f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{body}</details>"


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1180px;margin:0 auto;
color:#222;line-height:1.45;padding:0 1.2em 3em}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{margin:1.4em 0 .4em}
nav.toc{position:sticky;top:0;background:#fff;border-bottom:1px solid #e5e5e5;padding:.35em 0;z-index:5;
font-size:.85em;display:flex;flex-wrap:wrap;gap:.2em 1em}
nav.toc a{color:#35628f;text-decoration:none}nav.toc a:hover{text-decoration:underline}
.tw{max-height:26em;max-width:100%;overflow:auto;border:1px solid #e3e3e3;border-radius:4px;margin:.5em 0 1em}
.tbl{border-collapse:collapse;font-size:.8em;width:max-content;min-width:100%}
.tbl th,.tbl td{padding:.22em .6em;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
.tbl th.n,.tbl td.n{text-align:right;font-variant-numeric:tabular-nums}
.tbl td{max-width:28em;overflow:hidden;text-overflow:ellipsis}
.tbl th{background:#f3f5f7;position:sticky;top:0;cursor:pointer;user-select:none}
.tbl th:hover{background:#e6ebf1}.tbl th.asc::after{content:" \\25B2"}.tbl th.desc::after{content:" \\25BC"}
.tbl caption{text-align:left;font-size:.9em;color:#555}
.note{color:#555;font-size:.88em}
.key{background:#f0f6ff;border-left:4px solid #4477AA;padding:.6em 1em}
.verdict{background:#f4f8fc;border:1px solid #cfdceb;border-radius:6px;padding:.8em 1.2em;margin:.6em 0 1em}
.verdict .headline{font-size:1.15em;margin:.2em 0 .7em}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.6em}
.fact{background:#fff;border:1px solid #dde5ee;border-radius:5px;padding:.5em .8em;font-size:.9em}
.fact h4{margin:0 0 .25em;font-size:.78em;text-transform:uppercase;letter-spacing:.04em;color:#58708a}
.fact .big{font-size:1.25em;font-weight:600}
.yes{color:#1b7a3a;font-weight:600}.no{color:#a33;font-weight:600}.meh{color:#8a6d00;font-weight:600}
.bar{display:inline-block;height:.7em;background:#4477AA;vertical-align:middle;margin-right:.3em;border-radius:2px}
img{max-width:100%}details{margin:.5em 0}summary{cursor:pointer;color:#35628f}
.figs{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
svg.fig{background:#fff;border:1px solid #eee;border-radius:4px;max-width:100%;height:auto}
svg.fig text{font-family:inherit}
svg.fig circle.pt:hover,svg.fig circle.hl{stroke:#000;stroke-width:2px;r:6px}
svg.fig .row:hover rect.band{fill:#eef3f8}
"""

# Sorting (click a header; numbers by their data-v value) and linked highlighting of one sample in
# every panel of a figure. Plain DOM, no library.
JS = """
(function(){
function val(td){if(!td)return null;var v=td.getAttribute('data-v');if(v!==null&&v!==''){var x=parseFloat(v);
if(!isNaN(x))return x;}return td.textContent.trim().toLowerCase();}
document.querySelectorAll('table.sortable').forEach(function(tb){
 var ths=tb.tHead?tb.tHead.rows[0].cells:[];
 Array.prototype.forEach.call(ths,function(th,i){th.title='click to sort';th.addEventListener('click',function(){
  var asc=!th.classList.contains('asc');\
Array.prototype.forEach.call(ths,function(h){h.classList.remove('asc','desc');});
  th.classList.add(asc?'asc':'desc');var body=tb.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);if(x===y)return 0;if(x===null||x==='')return 1;
   if(y===null||y==='')return -1;var n=(typeof x==='number'&&typeof y==='number');\
var c=n?x-y:String(x).localeCompare(String(y));
   return asc?c:-c;});rows.forEach(function(r){body.appendChild(r);});});});});
document.querySelectorAll('.linked').forEach(function(box){
 box.addEventListener('mouseover',function(e){var s=e.target.getAttribute&&e.target.getAttribute('data-s');if(!s)return;
  box.querySelectorAll('circle[data-s]').forEach(function(c){if(c.getAttribute('data-s')===s)c.classList.add('hl');});});
 box.addEventListener('mouseout',function(e){if(!(e.target.getAttribute&&e.target.getAttribute('data-s')))return;
  box.querySelectorAll('circle.hl').forEach(function(c){c.classList.remove('hl');});});});
})();
"""


def build_html(*, title: str, sections: list[tuple[str, str]], lead: str = "") -> str:
    """One self-contained page: title, a sticky table of contents, ``lead`` and the sections.

    Parameters
    ----------
    title : str
        The page's title (and heading).
    sections : list of tuple of str
        The sections, each (title, HTML body).
    lead : str
        HTML shown above the sections (the verdict).

    Returns
    -------
    str
        The HTML page.
    """
    toc = "".join(f'<a href="#s{i}">{esc(t)}</a>' for i, (t, _) in enumerate(sections))
    body = "".join(
        f'<section id="s{i}"><h2>{esc(t)}</h2>{content}</section>' for i, (t, content) in enumerate(sections)
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1><nav class='toc'>{toc}</nav>{lead}{body}"
        f"<script>{JS}</script></body></html>\n"
    )
