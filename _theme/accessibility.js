/* em-lectures: accessibility fixes to the themes' HTML (issue 16, item 9; checked by
 * tests/test_accessibility.py with axe-core).  Listed in _config.yml (html_js_files).
 *
 * - Bibliography: docutils marks each entry role="doc-biblioentry" inside a role="list", a
 *   role ARIA 1.2 no longer counts as a list item, so screen readers saw a list without items
 *   (axe: aria-required-children, critical).  The entries become role="listitem".
 * - Tables: the empty top-left header cell of a pandas DataFrame (above the index column) is a
 *   header of nothing; it becomes an ordinary empty cell (axe: empty-table-header).
 * - Scrolling boxes (code, outputs, tables, display equations) wider than their column take the
 *   keyboard focus so that they can be scrolled without a mouse.  pydata-sphinx-theme does this
 *   once at load time, which misses code inside closed drop-downs (solutions, hidden cells),
 *   equations typeset later by MathJax and any change of width; a ResizeObserver keeps it right
 *   (axe: scrollable-region-focusable, serious).
 */
"use strict";

(() => {
  const SCROLLERS = [
    "pre",
    ".cell_output > .output",
    ".pst-scrollable-table-container",
    'div.math mjx-container[display="true"]',
  ].join(", ");

  function fixBibliography() {
    document.querySelectorAll('[role="list"] > [role="doc-biblioentry"]')
      .forEach((entry) => entry.setAttribute("role", "listitem"));
  }

  function fixEmptyHeaders(root) {
    root.querySelectorAll("table th").forEach((th) => {
      if (th.textContent.trim() || th.querySelector("img, svg, mjx-container")) return;
      const td = document.createElement("td");
      for (const attr of th.attributes) td.setAttribute(attr.name, attr.value);
      th.replaceWith(td);
    });
  }

  const overflowing = (el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight;
  const resized = new ResizeObserver((entries) => {
    // Measure every box first, then change attributes: interleaving the two would make the
    // browser recompute the styles of a 20,000-element page once per box.
    const scrolls = entries.map(({ target }) => [target, overflowing(target)]);
    for (const [target, scrolling] of scrolls) {
      const tabIndex = scrolling ? 0 : -1;
      if (target.tabIndex !== tabIndex && (scrolling || target.tabIndex === 0)) target.tabIndex = tabIndex;
    }
  });
  const observed = new WeakSet();
  function watchScrollers(root) {
    root.querySelectorAll(SCROLLERS).forEach((el) => {
      if (!observed.has(el)) {
        observed.add(el);
        resized.observe(el);
      }
    });
  }

  function start() {
    fixBibliography();
    fixEmptyHeaders(document);
    watchScrollers(document);
    // Display equations exist once MathJax has typeset the page.
    const mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    if (mathjax) mathjax.then(() => watchScrollers(document));
    else window.addEventListener("load", () => {
      const later = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
      if (later) later.then(() => watchScrollers(document));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
