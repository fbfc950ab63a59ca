"""The built site links only to what exists, and every figure says what it shows.

Reads the HTML that ``make book`` wrote to ``_build/html`` (no browser needed): every internal
link and resource (``href``, ``src``) must name a file of the site, and every ``#anchor`` an
``id`` on the target page; every image must have alt text (not its file name) or sit in a
figure with a caption.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

SITE = Path(__file__).resolve().parent.parent / "_build" / "html"
# _static/ holds theme templates, not pages
PAGES = sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts) if SITE.exists() else []
# Sphinx's own generated pages (search, index of terms) are not the book's content
OWN_PAGES = [p for p in PAGES if p.name not in {"search.html", "genindex.html"}]
IMAGE_FILE = re.compile(r"\.(png|jpe?g|svg|gif)$", re.IGNORECASE)

pytestmark = pytest.mark.skipif(not PAGES, reason="the site is not built: run `make book` first")


class Page(HTMLParser):
    """The links, anchors and images of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.images: list[list] = []  # [src, alt, inside a figure with a caption]
        self._figures: list[list] = []  # open <figure>s: [index of its first image, has a caption]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag in {"a", "link"} and "href" in a:
            self.links.append((tag, a["href"]))
        if tag in {"img", "script", "iframe", "source"} and "src" in a:
            self.links.append((tag, a["src"]))
        if tag == "img":
            self.images.append([a.get("src", ""), a.get("alt", "").strip(), False])
        elif tag == "figure":
            self._figures.append([len(self.images), False])
        elif tag == "figcaption" and self._figures:
            self._figures[-1][1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure" and self._figures:
            start, captioned = self._figures.pop()
            for image in self.images[start:]:
                image[2] = image[2] or captioned


def parse(page: Path) -> Page:
    return Page(page.read_text(encoding="utf-8"))


PARSED = {page: parse(page) for page in PAGES}


def internal_target(page: Path, url: str) -> tuple[Path, str] | None:
    """The file and anchor an internal URL points to, or None for an external one."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
        return None
    path = unquote(parts.path)
    target = page if not path else (page.parent / path).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def test_the_site_has_every_chapter():
    chapters = [p for p in PAGES if p.parent.name == "chapters"]
    assert len(chapters) >= 9


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(SITE)))
def test_internal_links_and_anchors_resolve(page):
    broken = []
    for tag, url in PARSED[page].links:
        resolved = internal_target(page, url)
        if resolved is None:
            continue
        target, anchor = resolved
        if target.name == "em-lectures.pdf" and not Path("/usr/bin/chromium").exists():
            continue  # `make book` prints the PDF with Chromium; without it there is no PDF to link
        if not target.is_file():
            broken.append(f"<{tag}> {url}: no file {target.relative_to(SITE) if SITE in target.parents else target}")
        elif anchor and target.suffix == ".html" and anchor not in (PARSED[target] if target in PARSED else parse(target)).ids:
            broken.append(f"<{tag}> {url}: no id {anchor!r} in {target.name}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", OWN_PAGES, ids=lambda p: str(p.relative_to(SITE)))
def test_every_figure_has_alt_text_or_a_caption(page):
    bad = [
        src
        for src, alt, captioned in PARSED[page].images
        if not captioned and (len(alt) < 10 or IMAGE_FILE.search(alt) or alt == src)
        and "logo" not in src
    ]
    assert not bad, f"images without alt text or caption: {bad}"


def test_links_were_found():
    """The checks above would pass vacuously if the parser found nothing."""
    counts = defaultdict(int)
    for parsed in PARSED.values():
        for tag, _ in parsed.links:
            counts[tag] += 1
    assert counts["a"] > 500 and counts["img"] > 50
    anchored = sum(1 for p in PARSED.values() for _, url in p.links if "#" in url and not url.startswith("http"))
    assert anchored > 100
