"""Accessibility of the built website: axe-core on every page, in light and dark mode.

axe-core (from the npm registry: ``make test`` downloads the pinned version into ``.axe/``) is
injected into each page of ``_build/html`` in headless Chromium, after MathJax has typeset the
page and with every drop-down (solutions, hidden code) opened, so that what a reader can reveal
is checked too.  A page fails on any violation of impact "serious" or "critical" (colour
contrast, names of links, buttons and images, table headers, landmarks, ...); "moderate" and
"minor" findings are not failures.

The browser, the local HTTP server and the page helpers are those of ``tests/test_site.py``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest

from test_site import (  # noqa: F401 - chromium and site_url are fixtures
    DESKTOP,
    PAGES,
    ROOT,
    chromium,
    new_context,
    open_page,
    redirect_target,
    require_site,
    site_url,
    wait_for_mathjax,
)

AXE = ROOT / ".axe" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
MODES = ("light", "dark")
SHOWN_TARGETS = 3

# Open what a reader can open: <details> drop-downs (hidden code cells) and sphinx-togglebutton's
# toggles (solutions), so that their contents are checked as the reader sees them.
OPEN_DROPDOWNS_JS = """
() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  document.querySelectorAll("button.toggle-button").forEach(b => {
    if (b.classList.contains("toggle-button-hidden")) b.click();
  });
}
"""

RUN_AXE_JS = """
async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
    summary: v.nodes.length ? v.nodes[0].failureSummary : "",
  }));
}
"""


def require_axe() -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing: {AXE}. Run `make {AXE.relative_to(ROOT)}` "
                    "(`make test` does it for you).", pytrace=False)


def axe_violations(browser, url: str, final_url: str | None) -> dict[str, list[dict]]:
    """axe-core's violations on the page at url, in light mode and then in dark mode.

    The page is loaded once, with the reader's preference light; the preference then turns dark
    (the theme's "auto" mode follows it) and axe runs again on the same page.
    """
    context = new_context(browser, DESKTOP, "light")
    try:
        page, _ = open_page(context, url, final_url)
        wait_for_mathjax(page, [])
        page.evaluate(OPEN_DROPDOWNS_JS)
        page.wait_for_timeout(300)  # the page's ResizeObservers report the opened boxes
        page.add_script_tag(path=str(AXE))
        # The theme's colours fade in over a transition: axe must see the colours the reader ends up with, not
        # one sampled mid-fade on a busy machine (a CI run once measured a dark-mode button halfway from light).
        page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
        found = {}
        for mode in MODES:
            page.emulate_media(color_scheme=mode)
            page.wait_for_function("mode => document.documentElement.dataset.theme === mode", arg=mode)
            found[mode] = page.evaluate(RUN_AXE_JS)
        return found
    finally:
        context.close()


def describe(violation: dict, mode: str) -> str:
    targets = violation["targets"]
    shown = ", ".join(targets[:SHOWN_TARGETS]) + (f", ... ({len(targets)} in all)"
                                                  if len(targets) > SHOWN_TARGETS else "")
    summary = " ".join(violation["summary"].split())[:300]
    return (f"{mode}: {violation['id']} ({violation['impact']}): {violation['help']}; "
            f"{len(targets)} element(s): {shown}\n      {summary}")


@pytest.mark.parametrize("rel", PAGES)
def test_no_serious_accessibility_violations(rel, site_url, chromium):  # noqa: F811
    require_site()
    require_axe()
    target = redirect_target(rel)
    final_url = urljoin(site_url + rel, target) if target else None
    problems = []
    for mode, violations in axe_violations(chromium, site_url + rel, final_url).items():
        problems += [describe(v, mode) for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not problems, (f"{rel}: {len(problems)} serious or critical axe-core violation(s)\n  - "
                          + "\n  - ".join(problems))
