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
  did not turn into an ``mjx-container``, or has a MathJax error,
- has an ``<img>`` that did not load (``naturalWidth == 0``).

A full-page screenshot of every page goes to ``_build/screenshots/``.
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


def new_context(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")


def wait_for_mathjax(page, problems: list[str]) -> None:
    """Wait until MathJax (if the page loads it) has typeset everything."""
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
  const mathjaxErrors = Array.from(document.querySelectorAll("mjx-merror"))
      .map(el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 200));
  return {
    brokenImages, rawTex, unrendered, mathjaxErrors,
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


def screenshot_path(rel: str) -> Path:
    name = rel[: -len(".html")] if rel.endswith(".html") else rel
    return SCREENSHOTS / (name.replace("/", "__") + ".png")


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
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_path(rel)), full_page=True, animations="disabled")
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
