"""Lighthouse scores of every page of the built website (``make lighthouse``; not part of make test).

Serves the built site (``_build/html``, or the folder given as argument or in ``$SITE``) on
127.0.0.1 with one Python HTTP server, and runs Lighthouse (installed from the npm registry into
``.lighthouse/`` by the Makefile, version pinned there) driving Debian's ``/usr/bin/chromium``
(``$CHROME_PATH``) on every page of ``_toc.yml`` -- the intro, every chapter, the teaching page
and the bibliography -- one page after another, twice: with ``--preset=desktop`` and with
Lighthouse's default (a throttled mid-range phone).  Categories: performance, accessibility,
best practices and SEO.  The JSON reports go to ``_build/lighthouse/<page>.<preset>.json``.

Prints one row per page (performance desktop and mobile; accessibility, best practices and SEO,
the lower of the two runs), then, for one chapter (``--detail``), the heaviest resources, the
scripts that keep the main thread busy, and the audits that cost points.

Targets (issue 16): performance >= 80 on desktop and >= 60 on mobile, accessibility 100, best
practices 100, SEO >= 95, on every page.  Exit status 1 if a page misses one, 2 if Lighthouse,
Chromium or the site is missing.

The server compresses text (HTML, CSS, JS, SVG, JSON) with gzip, as the hosts a book is
published on (GitHub Pages, Read the Docs, Netlify) do; Python's http.server alone does not, and
Lighthouse would then time 3.6 MB of uncompressed scripts on a simulated 1.6 Mbit/s phone link.
``--no-gzip`` measures without compression.

Lighthouse's performance score comes from a simulated (not measured) load, so it varies by a
few points from run to run; ``--runs N`` takes the median of N runs per page and preset.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PRESETS = ("desktop", "mobile")
# column -> (preset whose score counts (None: the lower of both), category, minimum)
TARGETS = {
    "perf desktop": ("desktop", "performance", 80),
    "perf mobile": ("mobile", "performance", 60),
    "a11y": (None, "accessibility", 100),
    "best pract.": (None, "best-practices", 100),
    "SEO": (None, "seo", 95),
}
COMPRESSIBLE = (".html", ".css", ".js", ".svg", ".json", ".txt", ".map", ".xml")


def toc_pages() -> list[str]:
    """The pages of _toc.yml in reading order, as paths of .html files relative to the site."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", [{"chapters": toc.get("chapters")}]):
        walk(part.get("chapters"))
    return [f"{Path(f).with_suffix('')}.html" for f in files]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed when the client accepts it (and gzip is on)."""

    gzip_on = True
    _cache: dict[Path, bytes] = {}
    _lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if (
            not self.gzip_on
            or path.suffix not in COMPRESSIBLE
            or not path.is_file()
            or "gzip" not in self.headers.get("Accept-Encoding", "")
        ):
            return super().send_head()
        with self._lock:
            body = self._cache.get(path)
            if body is None:
                body = self._cache[path] = gzip.compress(path.read_bytes(), 6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)


def serve(site: Path, gzip_on: bool) -> http.server.ThreadingHTTPServer:
    Handler.gzip_on = gzip_on
    handler = functools.partial(Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_lighthouse(lighthouse: Path, chrome: str, url: str, preset: str, out: Path) -> dict:
    cmd = [
        str(lighthouse), url,
        "--output=json", f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
        # A picture of the whole page for the HTML report's viewer: no score uses it, and on
        # a long chapter it costs seconds and megabytes of JSON.
        "--disable-full-page-screenshot",
    ]
    if preset == "desktop":
        cmd.append("--preset=desktop")
    env = dict(os.environ, CHROME_PATH=chrome)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"lighthouse failed on {url} ({preset}):\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse: {report['runtimeError']} on {url} ({preset})")
    return report


def scores(report: dict) -> dict[str, float | None]:
    return {
        cat: (None if report["categories"][cat]["score"] is None
              else round(100 * report["categories"][cat]["score"]))
        for cat in CATEGORIES
    }


def table(rows: dict[str, dict[str, dict[str, float]]]) -> tuple[str, list[str]]:
    """The score table and the list of missed targets."""
    width = max(len(p) for p in rows)
    head = f"{'page':<{width}}  " + "  ".join(f"{c:>12}" for c in TARGETS)
    lines = [head, "-" * len(head)]
    missed = []
    for page, by_preset in rows.items():
        cells = []
        for column, (preset, cat, minimum) in TARGETS.items():
            values = [by_preset[p][cat] for p in ([preset] if preset else PRESETS) if p in by_preset]
            values = [v for v in values if v is not None]
            value = min(values) if values else None
            ok = value is not None and value >= minimum
            if not ok:
                missed.append(f"{page}: {column} {value} < {minimum}")
            cells.append(f"{'-' if value is None else int(value):>11}{' ' if ok else '!'}")
        lines.append(f"{page:<{width}}  " + "  ".join(cells))
    lines.append("targets: " + ", ".join(f"{c} >= {m}" for c, (_, _, m) in TARGETS.items())
                 + "  ('!' marks a miss)")
    return "\n".join(lines), missed


def kib(n: float) -> str:
    return f"{n / 1024:8.0f} KiB"


def details(report: dict, label: str, top: int = 10) -> str:
    """Heaviest resources, main-thread work, and the audits that cost points, of one report."""
    audits = report["audits"]
    out = [f"\n== {label}: {report['finalDisplayedUrl']} =="]
    metrics = audits["metrics"]["details"]["items"][0]
    out.append(
        "FCP {:.1f} s, LCP {:.1f} s, TBT {:.0f} ms, CLS {:.3f}, Speed Index {:.1f} s, TTI {:.1f} s".format(
            metrics["firstContentfulPaint"] / 1000, metrics["largestContentfulPaint"] / 1000,
            metrics["totalBlockingTime"], metrics["cumulativeLayoutShift"],
            metrics["speedIndex"] / 1000, metrics["interactive"] / 1000))
    weight = audits["total-byte-weight"]
    dom = audits["dom-size"]
    out.append(f"total transfer {kib(weight['numericValue']).strip()}, "
               f"DOM {dom.get('displayValue', dom.get('numericValue'))}")
    out.append(f"\nheaviest resources (transfer size; {top} of "
               f"{len(audits['network-requests']['details']['items'])} requests):")
    requests = sorted(audits["network-requests"]["details"]["items"],
                      key=lambda r: r.get("transferSize", 0), reverse=True)
    base = report["finalDisplayedUrl"].rsplit("/", 1)[0]
    origin = "/".join(base.split("/")[:3])
    for r in requests[:top]:
        url = r["url"].replace(origin, "")
        out.append(f"  {kib(r.get('transferSize', 0))}  {kib(r.get('resourceSize', 0))} raw  "
                   f"{r.get('resourceType', ''):<10} {url[:90]}")
    out.append("\nmain-thread time by script (bootup-time: total / script evaluation / parse):")
    for item in audits["bootup-time"]["details"].get("items", [])[:top]:
        url = item["url"].replace(origin, "")
        out.append(f"  {item['total']:7.0f} ms {item.get('scripting', 0):7.0f} ms "
                   f"{item.get('scriptParseCompile', 0):6.0f} ms  {url[:90]}")
    out.append("main-thread work by kind: " + ", ".join(
        f"{i['groupLabel']} {i['duration']:.0f} ms"
        for i in audits["mainthread-work-breakdown"]["details"].get("items", [])))
    long_tasks = audits.get("long-tasks", {}).get("details", {}).get("items", [])
    if long_tasks:
        out.append(f"longest main-thread tasks ({len(long_tasks)} over 50 ms): " + ", ".join(
            f"{t['duration']:.0f} ms ({t['url'].replace(origin, '') or 'page'})"
            for t in long_tasks[:6]))
    lost = []
    for cat in CATEGORIES:
        for ref in report["categories"][cat]["auditRefs"]:
            a = audits[ref["id"]]
            if ref["weight"] > 0 and a["score"] is not None and a["score"] < 1:
                value = f" ({a['displayValue']})" if a.get("displayValue") else ""
                lost.append(f"  [{cat}] {a['id']}: score {a['score']:.2f}{value}")
    out.append("\naudits that cost points:" if lost else "\nno scored audit lost points")
    out += lost
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default=os.environ.get("SITE") or ROOT / "_build" / "html",
                        type=Path, help="the built site (default: $SITE or _build/html)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "lighthouse",
                        help="folder for the JSON reports (default: _build/lighthouse)")
    parser.add_argument("--pages", nargs="*", help="only these pages (e.g. intro.html)")
    parser.add_argument("--detail", default="chapters/03_gmm_em.html",
                        help="page whose heaviest resources and blocking scripts are listed")
    parser.add_argument("--runs", type=int, default=1, help="runs per page and preset (median)")
    parser.add_argument("--no-gzip", action="store_true", help="serve without compression")
    args = parser.parse_args()

    site = args.site.resolve()
    chrome = os.environ.get("CHROME_PATH", CHROMIUM)
    lighthouse = Path(os.environ.get("LIGHTHOUSE", LIGHTHOUSE))
    for what, path, hint in (
        ("site", site / "index.html", "run `make book`"),
        ("Lighthouse", lighthouse, "run `make lighthouse` (it installs it into .lighthouse/)"),
        ("Chromium", Path(chrome), "apt-get install chromium, or set CHROME_PATH"),
    ):
        if not path.exists():
            print(f"lighthouse.py: no {what} at {path}: {hint}", file=sys.stderr)
            return 2

    pages = args.pages or toc_pages()
    missing = [p for p in pages if not (site / p).is_file()]
    if missing:
        print(f"lighthouse.py: not in {site}: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.detail not in pages:
        args.detail = pages[min(3, len(pages) - 1)]
    args.out.mkdir(parents=True, exist_ok=True)

    server = serve(site, gzip_on=not args.no_gzip)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"Lighthouse {subprocess.run([str(lighthouse), '--version'], capture_output=True, text=True).stdout.strip()}"
          f" on {chrome}, {len(pages)} pages of {site} served at {base}"
          f" ({'gzip' if not args.no_gzip else 'no compression'}), {args.runs} run(s) per preset",
          flush=True)
    start = time.monotonic()
    rows: dict[str, dict[str, dict[str, float]]] = {}
    detail_reports: dict[str, dict] = {}
    try:
        for page in pages:
            rows[page] = {}
            for preset in PRESETS:
                runs = []
                for run in range(args.runs):
                    suffix = f".{run + 1}" if args.runs > 1 else ""
                    out = args.out / f"{page.removesuffix('.html').replace('/', '__')}.{preset}{suffix}.json"
                    report = run_lighthouse(lighthouse, chrome, base + page, preset, out)
                    runs.append(report)
                by_run = [scores(r) for r in runs]
                perf = [s["performance"] for s in by_run]
                median = sorted(range(len(runs)), key=lambda i: perf[i])[len(runs) // 2]
                rows[page][preset] = by_run[median]
                if page == args.detail:
                    detail_reports[preset] = runs[median]
            s = rows[page]
            print(f"  {page}: performance {s['desktop']['performance']} (desktop), "
                  f"{s['mobile']['performance']} (mobile)  [{time.monotonic() - start:.0f} s]",
                  flush=True)
    finally:
        server.shutdown()
    elapsed = time.monotonic() - start

    text, missed = table(rows)
    print()
    print(text)
    for preset in ("mobile", "desktop"):
        if preset in detail_reports:
            print(details(detail_reports[preset], f"{args.detail}, {preset}"))
    print(f"\n{len(pages)} pages x {len(PRESETS)} presets x {args.runs} run(s) in {elapsed:.0f} s; "
          f"reports in {args.out}")
    if missed:
        print(f"\n{len(missed)} target(s) missed:\n  " + "\n  ".join(missed))
        return 1
    print("\nevery page meets every target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
