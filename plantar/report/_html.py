"""The report page: one self-contained HTML document (style, plotly.js once, sections)."""

import html
import re

#: The page's style: plain, printable, readable on a clinic's screen.
CSS = """
:root { --ink: #1d2329; --muted: #5b6670; --rule: #d8dde2; --flag: #b3261e; --ok: #1e6b3a;
        --panel: #f5f7f9; --accent: #24527a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
header.top { background: var(--accent); color: #fff; padding: 14px 28px 12px; }
header.top h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header.top .meta { font-size: 13px; opacity: .92; }
header.top .meta span { margin-right: 18px; white-space: nowrap; }
nav { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--rule);
      padding: 6px 28px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
main { padding: 8px 28px 40px; max-width: 1500px; }
section { margin-top: 22px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.summary { background: var(--panel); border-left: 4px solid var(--accent); padding: 10px 16px; }
.summary ul { margin: 4px 0; padding-left: 20px; }
.summary li { margin: 3px 0; }
.note { background: #fff6e5; border-left: 4px solid #e0a100; padding: 8px 14px; margin: 8px 0; }
.caption { color: var(--muted); font-size: 13px; margin: 2px 0 8px; }
table.data { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
table.data th, table.data td { border-bottom: 1px solid var(--rule); padding: 3px 9px; text-align: right; }
table.data th { background: var(--panel); font-weight: 600; }
table.data td:first-child, table.data th:first-child { text-align: left; }
td.flag { color: var(--flag); font-weight: 600; }
td.flag::after { content: " \\25B2"; font-size: 10px; }
td.beyond { color: var(--ok); font-weight: 600; }
.figure { margin: 4px 0 14px; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
footer { color: var(--muted); font-size: 12px; padding: 12px 28px; border-top: 1px solid var(--rule); }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


def esc(text):
    """Escape text for HTML."""
    return html.escape(str(text), quote=True)


def anchor(title):
    """A stable id for a section title."""
    return re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-") or "section"


def page(*, title, meta, sections, plotlyjs, footer):
    """Assemble the page.

    ``meta`` is a list of (label, value) pairs for the header line, ``sections``
    a list of (title, html) in order, ``plotlyjs`` the library's source (or ""
    when the page has no figure).
    """
    meta_html = "".join(f"<span><b>{esc(k)}:</b> {esc(v)}</span>" for k, v in meta if v not in ("", None))
    nav = "".join(f'<a href="#{anchor(t)}">{esc(t)}</a>' for t, _ in sections)
    body = "\n".join(f'<section id="{anchor(t)}">\n<h2>{esc(t)}</h2>\n{h}\n</section>' for t, h in sections)
    script = f'<script type="text/javascript">{plotlyjs}</script>' if plotlyjs else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n{script}\n</head>\n<body>\n"
        f'<header class="top"><h1>{esc(title)}</h1><div class="meta">{meta_html}</div></header>\n'
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n<footer>{esc(footer)}</footer>\n</body>\n</html>\n"
    )


def table(frame, *, flags=None, classes=None, index=True):
    """A pandas DataFrame as an HTML table; ``classes`` maps (row, column) positions to a CSS class."""
    classes = dict(classes or {})
    if flags is not None:
        for (i, j) in zip(*flags.nonzero()):
            classes[(int(i), int(j))] = "flag"
    header_cells = ([esc(frame.index.name or "")] if index else []) + [esc(c) for c in frame.columns]
    rows = ["<tr>" + "".join(f"<th>{c}</th>" for c in header_cells) + "</tr>"]
    for i, (label, values) in enumerate(zip(frame.index, frame.itertuples(index=False))):
        cells = [f"<td>{esc(label)}</td>"] if index else []
        for j, value in enumerate(values):
            css = classes.get((i, j))
            cells.append(f'<td class="{css}">{esc(value)}</td>' if css else f"<td>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table class="data">' + "".join(rows) + "</table>"
