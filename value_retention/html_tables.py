"""HTML rendering of the paper's tables, for ``snakemake --report`` (which cannot show LaTeX).

:func:`render` sets a :class:`value_retention.tables.Table` (the same data the LaTeX fragment is
set from) through pandas' Styler: one page per table, the benchmarks' block titles as a spanning
first column, notes in italics, every cell HTML-escaped. Deterministic (a fixed table id), so a
re-run writes the same bytes.
"""

from __future__ import annotations

import html

import pandas as pd

_STYLE = """
body { font-family: sans-serif; margin: 1em; }
table { border-collapse: collapse; }
caption { font-weight: bold; text-align: left; padding-bottom: 0.5em; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #ccc; vertical-align: top; }
thead th { border-bottom: 2px solid #000; }
tbody th { text-align: left; font-weight: bold; }
td.note { font-style: italic; }
"""


def render(table, title: str) -> str:
    """A whole HTML page holding ``table`` under the caption ``title``."""
    titled = any(block_title is not None for block_title, _ in table.blocks)
    index, cells, notes = [], [], []
    for block_title, rows in table.blocks:
        for row in rows:
            is_note = isinstance(row, str)  # a tables.Note: one sentence across the table
            index.append((block_title or "", len(index)))
            cells.append([str(row), *[""] * (len(table.header) - 1)] if is_note else [str(cell) for cell in row])
            notes.append(is_note)
    frame = pd.DataFrame(cells, columns=pd.Index([str(text) for text in table.header]),
                         index=pd.MultiIndex.from_tuples(index, names=["block", "row"]) if index else None)
    if frame.columns.has_duplicates:
        raise ValueError(f"table '{title}' has duplicate column names: {list(frame.columns)}")
    classes = pd.DataFrame([["note" if note else ""] * len(table.header) for note in notes],
                           index=frame.index, columns=frame.columns)
    styler = (frame.style.set_uuid("table").format(escape="html").format_index(escape="html")
              .set_td_classes(classes).hide(axis="index", names=True))
    # the block titles (benchmarks) label their rows; the row numbers only keep rows apart
    styler = styler.hide(axis="index", level="row") if titled else styler.hide(axis="index")
    body = styler.set_caption(html.escape(title)).to_html()
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")
