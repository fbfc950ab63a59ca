"""Less main-thread work while a page loads (issue 16, item 8: Lighthouse on a phone).

A local Sphinx extension (``_config.yml``: ``sphinx.local_extensions``) with three changes.

1. Every script file of a page loads with ``defer``.  Sphinx, its extensions
and the themes put about ten ``<script src>`` tags into the head without ``defer`` (doctools,
copybutton, togglebutton, sphinx-design's tabs, sphinx-book-theme, the book's own scripts): each
one stops the HTML parser until it has been fetched and run, which on a slow phone link delays
the first paint (Lighthouse: "render-blocking resources").  Every one of them waits for
DOMContentLoaded (or checks ``document.readyState``) before it touches the page, and deferred
scripts still run in document order, before DOMContentLoaded, so they work unchanged.

Kept as they are: the scripts of the search page (its template adds ``searchtools.js``
without ``defer``, which needs ``doctools.js`` already run), inline scripts (``defer`` has no effect on them), scripts that already have
``defer`` or ``async`` (MathJax), and ``documentation_options.js``, which defines the
``DOCUMENTATION_OPTIONS`` that inline scripts further down the head assign to while the page is
being parsed.

2. pydata-sphinx-theme's load-time pass over scrolling boxes is left out of the copy of its
script in the built site.  On the ``load`` event (and again after every change to the page,
MathJax's included) it visits every ``pre`` and output box, alternately reading its size and
setting its ``tabIndex``, so the browser recomputes the styles of the whole page once per box:
150 ms on a desktop for a chapter, well over half a second on a phone.  _theme/accessibility.js
does the same job (a tab stop on each box wider than its column, for the same boxes and the
display equations) with a ResizeObserver that measures all boxes first and then sets the
attributes, so nothing is lost.  The build fails if the theme's script no longer contains the
line this removes (a new theme version: check whether it is still needed).

3. The figures of a page (``_images/``) get their width and height (read from the PNG), so that
the browser reserves their space before they arrive, and all but the first load lazily, when the
reader comes near them: a chapter has 10-20 figures of 50-250 KB, which otherwise all compete
with the page's text, style sheets and scripts for a phone's bandwidth.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from sphinx.builders.html._assets import _JavaScript
from sphinx.errors import ExtensionError

KEEP = ("documentation_options.js",)


def defer(js):
    if not isinstance(js, _JavaScript) or not js.filename:
        return js
    attributes = dict(js.attributes)
    if "defer" in attributes or "async" in attributes or "body" in attributes:
        return js
    if os.path.basename(os.fspath(js.filename)) in KEEP:
        return js
    return _JavaScript(js.filename, priority=js.priority, defer="defer", **attributes)


def defer_scripts(app, pagename, templatename, context, doctree):
    # The search page's template loads searchtools.js without defer, and it calls doctools.js's
    # _ready as it runs: there every script keeps its place.
    if "script_files" in context and pagename != "search":
        context["script_files"] = [defer(js) for js in context["script_files"]]


IMG_TAG = re.compile(r"<img\b[^>]*>")
IMG_SRC = re.compile(r'\ssrc="([^"]*_images/([^"/]+))"')


def png_size(path: Path) -> tuple[int, int] | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def size_figures(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if not body or "<img" not in body:
        return
    # The builder's images: source file -> name in _images/ (filled before pages are written).
    sources = {dest: src for src, dest in getattr(app.builder, "images", {}).items()}
    first = True

    def fix(match):
        nonlocal first
        tag = match.group(0)
        src = IMG_SRC.search(tag)
        if not src:
            return tag
        added = []
        if " width=" not in tag and " height=" not in tag and src.group(2) in sources:
            size = png_size(Path(app.srcdir, sources[src.group(2)]))
            if size:
                added.append('width="%d" height="%d"' % size)
        if first:
            first = False
        elif " loading=" not in tag:
            added.append('loading="lazy"')
        return tag.replace("<img ", "<img " + " ".join(added) + " ", 1) if added else tag

    context["body"] = IMG_TAG.sub(fix, body)


# pydata-sphinx-theme 0.17.1, static/scripts/pydata-sphinx-theme.js (minified): the last statement,
# which runs addTabStopsToScrollableElements now or on the load event.
PST_SCRIPT = Path("_static", "scripts", "pydata-sphinx-theme.js")
PST_TAB_STOPS = '"complete"===document.readyState?I():window.addEventListener("load",I)'


def drop_pydata_tab_stops(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    script = Path(app.outdir) / PST_SCRIPT
    text = script.read_text(encoding="utf-8")
    if PST_TAB_STOPS in text:
        text = text.replace(PST_TAB_STOPS, "void 0")
        script.write_text(text, encoding="utf-8")
    elif "void 0})();" not in text:  # not already patched by an earlier incremental build
        raise ExtensionError(f"page_speed: {PST_SCRIPT} no longer contains {PST_TAB_STOPS!r}")


def setup(app):
    # After every other handler (the themes and sphinx.ext.mathjax add scripts in theirs).
    app.connect("html-page-context", defer_scripts, priority=900)
    app.connect("html-page-context", size_figures)
    app.connect("build-finished", drop_pydata_tab_stops)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
