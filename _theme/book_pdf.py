"""Print the built website to one PDF of the whole book: ``make pdf``.

Sphinx's single-page and LaTeX builders cannot render myst-nb's hidden-code cells, so the PDF is
made from the pages readers see: Debian's Chromium (driven by Playwright, as in
tests/test_site.py) prints every page of ``_toc.yml`` in order, with the theme's print style
sheet and MathJax's typeset maths, and pypdf joins them with one bookmark per page.  Chapter,
section, equation and figure numbers are the site's.

Usage: ``python _theme/book_pdf.py [SITE_DIR] [OUTPUT]`` (defaults: ``_build/html`` and
``_build/html/em-lectures.pdf``).
"""

from __future__ import annotations

import functools
import http.server
import io
import sys
import threading
import time
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright
from pypdf import PdfReader, PdfWriter

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="title"></span> · <span class="pageNumber"></span></div>')


def pages_in_order() -> list[str]:
    """The book's pages as ``_toc.yml`` orders them, as paths relative to the site."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f"{f}.html" for f in files]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_page(page, url: str) -> tuple[bytes, str]:
    """One page as PDF bytes (A4, print media, solutions opened) and its title."""
    page.goto(url, wait_until="load")
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : true")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.emulate_media(media="print")
    title = page.evaluate("() => (document.querySelector('.bd-article h1') || {}).textContent || document.title")
    pdf = page.pdf(format="A4", print_background=False, display_header_footer=True,
                   header_template="<span></span>", footer_template=FOOTER,
                   margin={"top": "15mm", "bottom": "15mm", "left": "14mm", "right": "14mm"})
    return pdf, title.replace("#", "").strip()


def main(site: Path, output: Path) -> None:
    started = time.perf_counter()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    writer = PdfWriter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
        for rel in pages_in_order():
            pdf, title = print_page(page, base + rel)
            first = len(writer.pages)
            writer.append(PdfReader(io.BytesIO(pdf)))
            writer.add_outline_item(title=title, page_number=first)
        browser.close()
    server.shutdown()
    writer.add_metadata({"/Title": "The EM algorithm, in executable lectures", "/Author": "The em-lectures authors"})
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as handle:
        writer.write(handle)
    print(f"{output}: {len(writer.pages)} pages, {output.stat().st_size / 1e6:.1f} MB, "
          f"in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    main(site, Path(sys.argv[2]) if len(sys.argv) > 2 else site / "em-lectures.pdf")
