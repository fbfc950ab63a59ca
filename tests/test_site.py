"""Browser checks of the built website (``_build/html``, made by ``make book``).

Every HTML page is opened in headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright's sync API; ``playwright install`` cannot download a browser here) from a local
HTTP server on 127.0.0.1.  A page fails if it

- logs a console error or throws an uncaught exception,
- has a request that fails, or a response with status >= 400,
- asks for anything not on 127.0.0.1/localhost (those requests are also blocked, so a CDN
  dependency fails fast instead of hanging until a timeout),
- still shows raw TeX delimiters (``\\(``, ``\\[``, ``$$``) in its text (hidden drop-downs
  included, code blocks excluded) once MathJax has finished, has a math element that MathJax
  did not turn into an ``mjx-container`` (or into two), or has a MathJax error,
- has an ``<img>`` that did not load (``naturalWidth == 0``),
- at 1280 px, has a display equation wider than its column (it would hide behind its number),
- at 390 px (a phone), is wider than the screen, or has a wide equation that does not scroll
  sideways or that its number covers.

Each page is screenshotted at 1280 px and 390 px, in light and dark mode, into
``_build/screenshots/`` (``<page>--<width>-<mode>.jpg``).  The sidebar toggles are clicked at both
widths: on a phone they must open the chapter list and the page contents.  In dark mode the
figures must be dark too (shown inverted, hues kept), not light panels.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
NOT_BUILT = (
    f"The website has not been built: {SITE / 'index.html'} is missing. "
    "Run `make book` first (`make test` does it for you)."
)

EXCLUDED_DIRS = ("_static", "_sources", "_images")
EXCLUDED_PAGES = {"genindex.html"}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Schemes that never leave the browser.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Sphinx loads MathJax with `defer`, so it has started (or failed) by the load event.
MATHJAX_TIMEOUT_MS = 5_000
# Renders every block that _theme/em-lectures.css leaves to be rendered near the screen.
RENDER_EVERYTHING_CSS = ".bd-article section > * { content-visibility: visible !important; }"
REQUESTS_TIMEOUT_S = 60
RAW_TEX = ("\\(", "\\[", "$$")


def discover_pages() -> list[str]:
    """Every .html page of the built site, as a path relative to _build/html."""
    if not (SITE / "index.html").is_file():
        # Keep one test so that the run fails (with NOT_BUILT) instead of collecting nothing.
        return ["index.html"]
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        rel = path.relative_to(SITE).as_posix()
        if rel.split("/")[0] in EXCLUDED_DIRS or rel in EXCLUDED_PAGES:
            continue
        pages.append(rel)
    return pages


PAGES = discover_pages()


def require_site() -> None:
    if not (SITE / "index.html").is_file():
        pytest.fail(NOT_BUILT, pytrace=False)


def redirect_target(rel: str) -> str | None:
    """The page a ``<meta http-equiv="Refresh">`` page sends the browser to (index.html)."""
    text = (SITE / rel).read_text(encoding="utf-8", errors="replace")
    match = re.search(
        r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"']+)["']""",
        text,
        flags=re.IGNORECASE,
    )
    return match.group(1).strip() if match else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def site_url():
    """Serve _build/html on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, launched once for the module."""
    # Names deliberately differ from pytest-playwright's fixtures (browser, page, ...).
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        message = f"browser checks need {CHROMIUM}: `sudo apt-get install chromium` enables them"
        if os.environ.get("EMLECTURES_REQUIRE_BROWSER"):  # set by .ci/run: CI must run them
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class PageRecorder:
    """Everything a page did over the network and on the console."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.bad_status: list[str] = []
        self.console_errors: list[str] = []
        self.in_flight: set = set()
        page.on("request", self._on_request)
        page.on("requestfinished", lambda request: self.in_flight.discard(request))
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught exception: {exc}"))
        # Block anything that would leave the machine; the request is still recorded above.
        page.route("**/*", self._route)

    @staticmethod
    def is_local(url: str) -> bool:
        parsed = urlparse(url)
        return parsed.scheme in LOCAL_SCHEMES or parsed.hostname in LOCAL_HOSTS

    def _route(self, route):
        if self.is_local(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def _on_request(self, request):
        self.in_flight.add(request)
        self.requests.append(request.url)
        if not self.is_local(request.url):
            self.external.append(f"{request.method} {request.url} ({request.resource_type})")

    def _on_failed(self, request):
        self.in_flight.discard(request)
        self.failed.append(f"{request.url}: {request.failure}")

    def _on_response(self, response):
        if response.status >= 400:
            self.bad_status.append(f"{response.status} {response.url}")

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            self.console_errors.append(f"{msg.text}{where}")


def open_page(context, url: str, final_url: str | None):
    """A page with a recorder, navigated to url (and on through a redirect)."""
    page = context.new_page()
    recorder = PageRecorder(page)
    page.goto(url, wait_until="load")
    if final_url is not None:
        page.wait_for_url(final_url, wait_until="load")
    return page, recorder


DESKTOP, PHONE = 1280, 390


def new_context(browser, width: int = DESKTOP, mode: str = "light"):
    return browser.new_context(viewport={"width": width, "height": 900}, color_scheme=mode)


def wait_for_mathjax(page, problems: list[str]) -> None:
    """Wait until MathJax (if the page loads it) has typeset everything, then render the page in
    full.

    On phones the blocks of a chapter that are off the screen are not rendered until the reader
    scrolls near them (content-visibility, _theme/em-lectures.css), and a rendered block clips
    what sticks out of it.  The checks that follow must see every block laid out, at its real
    size, and anything too wide for the page as too wide: so that optimisation is switched off
    here, after MathJax has typeset the page as a reader's browser does.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
            timeout=MATHJAX_TIMEOUT_MS,
        )
        page.evaluate(
            "() => window.MathJax && window.MathJax.startup"
            " ? window.MathJax.startup.promise.then(() => true) : false"
        )
    except PlaywrightTimeout:
        problems.append(
            f"MathJax did not start within {MATHJAX_TIMEOUT_MS / 1000:.0f} s "
            "(window.MathJax is only the configuration: was its script blocked or missing?)"
        )
    # Then every block that the page renders only near the screen (content-visibility on
    # phones, _theme/em-lectures.css): the checks see the whole page laid out, without clipping.
    page.add_style_tag(content=RENDER_EVERYTHING_CSS)


# Raw TeX is looked for in every text node of <body> rather than in document.body.innerText,
# so that hidden content (closed solution drop-downs) is checked too; text inside code, pre,
# script, style and MathJax's own output is skipped (code may legitimately show `$$`).
PAGE_REPORT_JS = r"""
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === "lazy") img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener("load", done); img.addEventListener("error", done); })));
  const brokenImages = imgs.filter(img => img.naturalWidth === 0)
      .map(img => img.currentSrc || img.getAttribute("src") || img.outerHTML.slice(0, 200));

  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TEXTAREA", "PRE", "CODE",
                        "MJX-CONTAINER", "MJX-ASSISTIVE-MML"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el && el !== document.body; el = el.parentElement) {
        if (skip.has(el.tagName.toUpperCase())) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    }
  });
  const rawTex = [];
  const delims = ["\\(", "\\[", "$$"];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    for (const d of delims) {
      const i = text.indexOf(d);
      if (i >= 0) rawTex.push(`${d} in "...${text.slice(Math.max(0, i - 40), i + 60).replace(/\s+/g, " ")}..."`);
    }
  }

  const mathElements = Array.from(document.querySelectorAll(".math"));
  const unrendered = mathElements.filter(el => !el.querySelector("mjx-container"))
      .map(el => el.textContent.trim().slice(0, 120));
  // Typeset twice (e.g. MathJax's MathML input finding the assistive MathML of a formula).
  const doubled = mathElements.filter(el => el.querySelectorAll("mjx-container").length > 1)
      .map(el => el.textContent.trim().slice(0, 120));
  const mathjaxErrors = Array.from(document.querySelectorAll("mjx-merror"))
      .map(el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 200));
  return {
    brokenImages, rawTex, unrendered, doubled, mathjaxErrors,
    mathCount: mathElements.length,
    mjxCount: document.querySelectorAll("mjx-container").length,
    hasMathJax: !!(window.MathJax && window.MathJax.startup),
  };
}
"""


def wait_for_requests(page, recorder: PageRecorder, problems: list[str]) -> None:
    """Wait until every request the page started has finished or failed.

    Not Playwright's "networkidle" (500 ms without any connection): on a busy 2-core machine a
    long page can miss that window for 30 s although nothing is wrong.
    """
    deadline = time.monotonic() + REQUESTS_TIMEOUT_S
    while recorder.in_flight and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    if recorder.in_flight:
        stuck = sorted(r.url for r in recorder.in_flight)
        problems.append(f"requests still pending after {REQUESTS_TIMEOUT_S} s: {stuck}")


def screenshot_path(rel: str, width: int = DESKTOP, mode: str = "light") -> Path:
    name = rel[: -len(".html")] if rel.endswith(".html") else rel
    return SCREENSHOTS / f"{name.replace('/', '__')}--{width}-{mode}.jpg"


def screenshot(page, rel: str, width: int = DESKTOP, mode: str = "light") -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot_path(rel, width, mode)), full_page=True,
                    animations="disabled", type="jpeg", quality=70)


# Display equations (MathJax's <mjx-container display="true"> inside Sphinx's div.math, whose
# span.eqno holds the number), the page's width, and the equations that do not fit.
LAYOUT_JS = r"""
() => {
  const label = e => { const m = e.closest("div.math"); return (m && m.id) || e.textContent.slice(0, 60); };
  const eqs = Array.from(document.querySelectorAll('div.math mjx-container[display="true"]'));
  const wide = eqs.filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1);
  const overlaps = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right
                             && a.top < b.bottom && b.top < a.bottom;
  return {
    pageWidth: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
    theme: document.documentElement.dataset.theme,
    wide: wide.map(e => `${label(e)} (${e.scrollWidth} px in ${e.clientWidth} px)`),
    unscrollable: wide.filter(e => !["auto", "scroll"].includes(getComputedStyle(e).overflowX)).map(label),
    covered: eqs.filter(e => {
      const number = e.parentElement.querySelector(":scope > span.eqno");
      return number && overlaps(number.getBoundingClientRect(), e.getBoundingClientRect());
    }).map(label),
  };
}
"""


def layout_problems(layout: dict, width: int) -> list[str]:
    """What a reader at this width would see cut off or panning."""
    problems = [f"a wide equation does not scroll sideways: {e}" for e in layout["unscrollable"]]
    problems += [f"an equation number covers its equation: {e}" for e in layout["covered"]]
    if width >= DESKTOP:
        problems += [f"display equation wider than its column: {e}" for e in layout["wide"]]
    if layout["pageWidth"] > layout["viewport"]:
        problems.append(f"the page is {layout['pageWidth']} px wide in a {layout['viewport']} px window")
    return problems


def format_problems(rel: str, problems: list[str]) -> str:
    return f"{rel}: {len(problems)} problem(s)\n  - " + "\n  - ".join(problems)


@pytest.mark.parametrize("rel", PAGES)
def test_page(rel, site_url, chromium):
    require_site()
    started = time.perf_counter()
    target = redirect_target(rel)
    final_url = urljoin(site_url + rel, target) if target else None
    problems: list[str] = []
    context = new_context(chromium)
    try:
        page, rec = open_page(context, site_url + rel, final_url)
        wait_for_mathjax(page, problems)
        report = page.evaluate(PAGE_REPORT_JS)
        wait_for_requests(page, rec, problems)
        page.evaluate("() => document.fonts.ready.then(() => true)")
        problems += layout_problems(page.evaluate(LAYOUT_JS), DESKTOP)
        screenshot(page, rel)
    finally:
        context.close()

    problems += [f"console error: {m}" for m in rec.console_errors]
    problems += [f"request to an outside host: {u}" for u in rec.external]
    problems += [f"failed request: {u}" for u in rec.failed]
    problems += [f"HTTP error: {u}" for u in rec.bad_status]
    problems += [f"image did not load: {u}" for u in report["brokenImages"]]
    problems += [f"raw TeX left in the text: {s}" for s in report["rawTex"]]
    problems += [f"math not rendered by MathJax: {s!r}" for s in report["unrendered"]]
    problems += [f"MathJax error: {s}" for s in report["mathjaxErrors"]]
    problems += [f"math typeset more than once: {s!r}" for s in report["doubled"]]
    if report["mathCount"] and not report["mjxCount"]:
        problems.append(
            f"the page has {report['mathCount']} math element(s) but no <mjx-container>: "
            f"MathJax {'ran but rendered nothing' if report['hasMathJax'] else 'is not loaded'}"
        )
    elapsed = time.perf_counter() - started
    assert not problems, format_problems(rel, problems) + f"\n(page checked in {elapsed:.1f} s)"


def test_mathjax_is_served_locally(site_url, chromium):
    """The index page (after its redirect) loads MathJax from this server, not a CDN."""
    require_site()
    target = redirect_target("index.html")
    final_url = urljoin(site_url + "index.html", target) if target else None
    context = new_context(chromium)
    try:
        page, rec = open_page(context, site_url + "index.html", final_url)
        srcs = page.eval_on_selector_all(
            "script[src]", "els => els.map(el => el.src).filter(s => /mathjax/i.test(s))"
        )
        wait_for_mathjax(page, [])
        version = page.evaluate("() => (window.MathJax && window.MathJax.version) || null")
        url = page.url
    finally:
        context.close()
    assert srcs, f"{url} has no <script> whose src mentions MathJax"
    outside = [s for s in srcs if urlparse(s).hostname != "127.0.0.1"]
    assert not outside, (
        f"MathJax is not served by the site itself on {url}: {outside} "
        "(set sphinx.config.mathjax_path in _config.yml to the local copy)"
    )
    assert version, (
        f"MathJax script(s) {srcs} did not load on {url}; "
        f"failed requests: {rec.failed}, HTTP errors: {rec.bad_status}"
    )


@pytest.mark.parametrize("rel", PAGES)
def test_page_on_a_phone_and_in_dark_mode(rel, site_url, chromium):
    """The page at 390 px and in dark mode: no sideways panning, equations scroll, screenshots."""
    require_site()
    problems: list[str] = []
    target = redirect_target(rel)  # index.html sends the browser on to the intro
    final_url = urljoin(site_url + rel, target) if target else None
    for width, mode in [(PHONE, "light"), (DESKTOP, "dark"), (PHONE, "dark")]:
        context = new_context(chromium, width, mode)
        try:
            page, _ = open_page(context, site_url + rel, final_url)
            wait_for_mathjax(page, problems)
            layout = page.evaluate(LAYOUT_JS)
            problems += [f"{width} px, {mode}: {p}" for p in layout_problems(layout, width)]
            if layout["theme"] != mode:
                problems.append(f"{width} px: the reader's {mode} preference gives theme {layout['theme']!r}")
            if width == DESKTOP and mode == "dark":
                problems += dark_figure_problems(page)
            screenshot(page, rel, width, mode)
        finally:
            context.close()
    assert not problems, format_problems(rel, problems)


def dark_figure_problems(page) -> list[str]:
    """In dark mode a figure's background (its corners) must be dark, not a white or grey panel."""
    import io

    from PIL import Image

    figure = page.locator(".bd-content div.cell_output img").first
    if not figure.count():
        return []
    figure.scroll_into_view_if_needed()
    image = Image.open(io.BytesIO(figure.screenshot())).convert("L")
    w, h = image.size
    corners = [image.getpixel((x, y)) for x in (2, w - 3) for y in (2, h - 3)]
    if max(corners) > 80:
        return [f"dark mode: the first figure's corners have grey levels {corners} (a light panel, not dark)"]
    return []


CHAPTER = "chapters/02_kmeans.html"


def test_phone_buttons_open_the_chapter_list_and_the_contents(site_url, chromium):
    """At 390 px the sidebars are hidden; the visible ☰ and Contents buttons open them."""
    require_site()
    context = new_context(chromium, PHONE)
    try:
        page = context.new_page()
        page.goto(site_url + CHAPTER, wait_until="load")
        chapter_link = page.locator("nav.bd-links a", has_text="Gaussian mixtures and EM").first
        section_link = page.locator("nav.page-toc a", has_text="Lloyd").first
        assert not chapter_link.is_visible() and not section_link.is_visible()
        page.locator(".primary-toggle:visible").click()
        chapter_link.wait_for(state="visible", timeout=5_000)
        page.keyboard.press("Escape")
        chapter_link.wait_for(state="hidden", timeout=5_000)
        page.locator(".secondary-toggle:visible").click()
        section_link.wait_for(state="visible", timeout=5_000)
    finally:
        context.close()


def test_desktop_menu_button_collapses_the_sidebar_and_one_search_field(site_url, chromium):
    """At 1280 px ☰ hides the chapter list and shows it again; one search field, not two."""
    require_site()
    context = new_context(chromium)
    try:
        page = context.new_page()
        page.goto(site_url + CHAPTER, wait_until="load")
        assert page.locator(".search-button-field:visible").count() == 1
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        page.locator(".primary-toggle:visible").click()
        sidebar.wait_for(state="hidden", timeout=5_000)
        page.locator(".primary-toggle:visible").click()
        sidebar.wait_for(state="visible", timeout=5_000)
    finally:
        context.close()


def config_repository_url() -> str:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


# index.html only redirects; search.html is Sphinx's search form, not content.
@pytest.mark.parametrize("rel", [p for p in PAGES if p not in {"index.html", "search.html"}])
def test_page_identity_licence_and_launch_links(rel):
    """Every page: a description, a favicon that exists, the licences in the footer; every
    chapter: Binder, Colab, edit and issue links built from _config.yml's repository URL."""
    require_site()
    html = (SITE / rel).read_text(encoding="utf-8")
    problems = []
    if not re.search(r'<meta content="[^"]{50,}" name="description"', html):
        problems.append("no meta description of at least 50 characters")
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    if not icon or not (SITE / rel).parent.joinpath(icon.group(1)).resolve().is_file():
        problems.append(f"favicon missing or not in the site: {icon and icon.group(1)}")
    footer = html[html.find('class="bd-footer-content'):]
    if "MIT licence" not in footer or "CC BY 4.0" not in footer:
        problems.append("the footer does not state the code's (MIT) and the text's (CC BY 4.0) licences")
    if rel.startswith("chapters/"):
        repo = config_repository_url()
        owner_name = urlparse(repo).path.strip("/")
        notebook = rel.replace(".html", ".ipynb")
        expected = {
            "Binder": f"https://mybinder.org/v2/gh/{owner_name}/main?urlpath=lab/tree/{notebook}",
            "Colab": f"https://colab.research.google.com/github/{owner_name}/blob/main/{notebook}",
            "edit": f"{repo}/edit/main/{notebook}",
            "issue": f"{repo}/issues/new?title=",
        }
        problems += [f"no {what} link ({url})" for what, url in expected.items() if url not in html]
        cells = html.split('<div class="cell ')[1:]
        if not cells or "tag_watermark" not in cells[-1].split(">", 1)[0]:
            problems.append("the last cell is not the version stamp (tag_watermark)")
        elif not re.search(r"Executed on \d{4}-\d\d-\d\d \(.*?\) with Python \d", cells[-1]):
            problems.append("the version stamp does not say when and with what the chapter ran")
    assert not problems, format_problems(rel, problems)


def test_version_stamp_is_small_and_muted(site_url, chromium):
    """The stamp at the end of a chapter is set smaller than the text and in a muted colour."""
    require_site()
    context = new_context(chromium)
    try:
        page, _ = open_page(context, site_url + "chapters/02_kmeans.html", None)
        sizes = page.evaluate("""() => {
          const stamp = document.querySelector('.tag_watermark .output pre');
          const text = document.querySelector('.bd-content section p');
          const style = e => getComputedStyle(e);
          return {stamp: parseFloat(style(stamp).fontSize), text: parseFloat(style(text).fontSize),
                  stampColour: style(stamp).color, textColour: style(text).color};
        }""")
    finally:
        context.close()
    assert sizes["stamp"] < 0.9 * sizes["text"], sizes
    assert sizes["stampColour"] != sizes["textColour"], sizes


def test_intro_says_how_to_cite():
    require_site()
    html = (SITE / "intro.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)  # the BibTeX block is split into highlighted spans
    assert 'id="how-to-cite"' in html and "@book{emlectures2026" in text
    assert config_repository_url() in html


def bibliography_labels() -> dict[str, str]:
    html = (SITE / "bibliography.html").read_text(encoding="utf-8")
    return dict(re.findall(
        r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label"><span class="fn-bracket">\[</span>'
        r"(.*?)<span", html))


def test_bibliography_labels_match_the_citations_and_link_back():
    """Each in-text citation's words are its bibliography entry's label (not "DLR77"); every
    entry links back to a citing page; every entry with a DOI in references.bib links to it."""
    require_site()
    labels = bibliography_labels()
    assert labels, "no labelled entries found in bibliography.html"
    mismatched = []
    for page in sorted(SITE.glob("chapters/*.html")) + [SITE / "intro.html"]:
        html = page.read_text(encoding="utf-8")
        for anchor, inner in re.findall(r'<a class="reference internal" href="[./]*bibliography.html#([^"]+)">(.*?)</a>', html):
            text = re.sub(r"<[^>]+>", "", inner)
            if labels.get(anchor) != text:
                mismatched.append(f"{page.name}: cites {text!r}, the entry's label is {labels.get(anchor)!r}")
    assert not mismatched, "\n".join(mismatched[:20])
    bibliography = (SITE / "bibliography.html").read_text(encoding="utf-8")
    entries = bibliography.split('<div class="citation"')[1:]
    assert all('class="cited-in"' in entry for entry in entries), "an entry without a back-link"
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    text = re.sub(r"<[^>]+>", "", bibliography).lower()
    shown = [e for e in parse_file(ROOT / "references.bib").entries.values()
             if Text.from_latex(e.fields["title"]).render_as("text")[:40].lower() in text]
    dois = [e.fields["doi"] for e in shown if "doi" in e.fields]
    missing = [d for d in dois if f'href="https://doi.org/{d}"' not in bibliography]
    assert dois and not missing, f"DOIs not linked: {missing}"
    twice = [d for d in dois if bibliography.count(f'href="https://doi.org/{d}"') > 1]
    assert not twice, f"DOIs linked twice: {twice}"


def test_search_snippets_show_formulas_as_text(site_url, chromium):
    """Search results for a word that sits next to formulas show them as text, not raw TeX."""
    require_site()
    context = new_context(chromium)
    try:
        page = context.new_page()
        page.goto(site_url + "search.html?q=responsibilities", wait_until="load")
        page.locator("#search-results p.context").first.wait_for(timeout=20_000)
        page.wait_for_function("() => document.querySelector('#search-results .search-summary') !== null"
                               " || document.querySelectorAll('#search-results li').length > 3", timeout=20_000)
        page.wait_for_timeout(1_000)
        snippets = page.locator("#search-results p.context").all_inner_texts()
    finally:
        context.close()
    assert len(snippets) >= 3, snippets
    raw = [s for s in snippets if any(d in s for d in RAW_TEX) or "\\" in s]
    assert not raw, f"raw TeX in {len(raw)} of {len(snippets)} snippets, e.g. {raw[0][:200]!r}"
    assert any("γ" in s for s in snippets), "no formula rendered as text (γ) in the snippets"


def test_pdf_of_the_book_has_every_page_of_the_toc(chromium):
    """`make book` prints the site to _build/html/em-lectures.pdf: one bookmark per page of
    _toc.yml, in order, numbered chapters, and the maths as text (MathJax typeset it)."""
    require_site()
    import yaml
    from pypdf import PdfReader

    pdf = SITE / "em-lectures.pdf"
    assert pdf.is_file(), f"{pdf} is missing: `make book` (or `make pdf`) prints it with Chromium"
    reader = PdfReader(pdf)
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    n_pages = 1 + sum(len(part["chapters"]) for part in toc["parts"])
    titles = [item.title for item in reader.outline]
    starts = [reader.get_destination_page_number(item) for item in reader.outline]
    assert len(titles) == n_pages and starts == sorted(starts), titles
    assert [t.split(".")[0] for t in titles[1:12]] == [str(k) for k in range(1, 12)], titles
    text = reader.pages[starts[3]].extract_text() + reader.pages[starts[3] + 1].extract_text()
    assert "\\(" not in text and "γ" in text
