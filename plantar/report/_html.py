"""The report page: one self-contained HTML document (style, plotly.js once, sections)."""

import html
import re

#: The page's style: plain, printable, readable on a clinic's screen.
CSS = """
:root { --ink: #1d2329; --muted: #5b6670; --rule: #d8dde2; --flag: #b3261e; --ok: #1e6b3a;
        --panel: #f5f7f9; --accent: #24527a; }
* { box-sizing: border-box; }
html, body { max-width: 100%; overflow-x: hidden; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
header.top { background: var(--accent); color: #fff; padding: 14px 28px 12px; }
header.top h1 { margin: 0 0 6px; font-size: 22px; font-weight: 600; overflow-wrap: anywhere; }
header.top dl.meta { display: flex; flex-wrap: wrap; gap: 2px 20px; margin: 0; font-size: 13px; opacity: .95; }
header.top dl.meta div { display: flex; gap: 5px; min-width: 0; overflow-wrap: anywhere; }
header.top dt { font-weight: 700; }
header.top dt::after { content: ":"; }
header.top dd { margin: 0; }
nav { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--rule);
      padding: 6px 28px; font-size: 13px; display: flex; flex-wrap: wrap; gap: 2px 14px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
main { padding: 8px 28px 40px; max-width: 1500px; }
section { margin-top: 22px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; overflow-wrap: anywhere; }
.summary { background: var(--panel); border-left: 4px solid var(--accent); padding: 10px 16px; }
.summary ul { margin: 4px 0; padding-left: 20px; }
.summary li { margin: 3px 0; }
.note { background: #fff6e5; border-left: 4px solid #e0a100; padding: 8px 14px; margin: 8px 0; }
.caption { color: var(--muted); font-size: 13px; margin: 2px 0 8px; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
table.data th, table.data td { border-bottom: 1px solid var(--rule); padding: 3px 9px; text-align: right; }
table.data th { background: var(--panel); font-weight: 600; }
table.data td:first-child, table.data th:first-child { text-align: left; }
td.flag { color: var(--flag); font-weight: 600; }
td.flag::after { content: " \\25B2"; font-size: 10px; }
td.beyond { color: var(--ok); font-weight: 600; }
.figure { margin: 4px 0 14px; max-width: 100%; }
.print-only { display: none; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
footer { color: var(--muted); font-size: 12px; padding: 12px 28px; border-top: 1px solid var(--rule); }
@media (max-width: 640px) {
  header.top, nav, main, footer { padding-left: 12px; padding-right: 12px; }
  table.data { font-size: 12px; }
  table.data th, table.data td { padding: 3px 5px; }
}
@media print {
  @page { size: %(paper)s; margin: 11mm 10mm 12mm; }
  html, body { overflow: visible; }
  body { font-size: 11pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav { display: none; }
  header.top, main, footer { padding-left: 0; padding-right: 0; }
  header.top { padding: 8px 10px; }
  main { max-width: none; }
  section { margin-top: 10px; }
  section#summary { break-after: page; }
  section:not(#summary) { break-before: page; }
  h2, h3 { break-after: avoid; }
  .item { break-inside: avoid; }
  .item.long { break-inside: auto; }
  .caption { break-after: avoid; }
  .table-wrap { overflow: visible; }
  table.data { font-size: 8.5pt; width: 100%; }
  table.data th, table.data td { padding: 2px 4px; white-space: normal; }
  table.data th { overflow-wrap: anywhere; }
  table.data tr { break-inside: avoid; }
  table.data thead { display: table-header-group; }
  .figure { break-inside: avoid; zoom: var(--print-zoom, 1); }
  .figure.animation { display: none; }
  .figure.animation + .print-only, .print-only { display: block; }
  .modebar-container, .modebar, g.updatemenu-container, g.slider-container { display: none !important; }
}
"""

#: Tallest figure printed at its size, CSS px: a taller one is printed smaller (CSS zoom) to fit one page.
PRINT_HEIGHT_PX = 900

#: Page sizes of the printed report (CSS ``@page size``), and the width in CSS px at which
#: figures are drawn for print (the page's width less its margins, 96 px per inch).
PAPER = {"A4": ("A4", 718), "Letter": ("letter", 741)}


def esc(text):
    """Escape text for HTML."""
    return html.escape(str(text), quote=True)


def anchor(title):
    """A stable id for a section title."""
    return re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-") or "section"


def page(*, title, meta, sections, plotlyjs, footer, paper="A4"):
    """Assemble the page.

    ``meta`` is a list of (label, value) pairs for the header, ``sections``
    a list of (title, html) in order, ``plotlyjs`` the library's source (or ""
    when the page has no figure), ``paper`` a key of :data:`PAPER`.
    """
    meta_html = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in meta if v not in ("", None))
    nav = "".join(f'<a href="#{anchor(t)}">{esc(t)}</a>' for t, _ in sections)
    body = "\n".join(f'<section id="{anchor(t)}">\n<h2>{esc(t)}</h2>\n{h}\n</section>' for t, h in sections)
    script = f'<script type="text/javascript">{plotlyjs}</script>' if plotlyjs else ""
    css = CSS.replace("%(paper)s", PAPER[paper][0])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n{script}\n</head>\n<body>\n"
        f'<header class="top"><h1>{esc(title)}</h1><dl class="meta">{meta_html}</dl></header>\n'
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
    head, body = rows[0], "".join(rows[1:])
    return f'<div class="table-wrap"><table class="data"><thead>{head}</thead><tbody>{body}</tbody></table></div>'
