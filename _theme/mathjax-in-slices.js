/* em-lectures: MathJax typesets the page in slices of a few milliseconds instead of in one task
 * (issue 16, item 8).  Listed in _config.yml (html_js_files) with a priority that puts it after
 * the inline `window.MathJax = {...}` configuration and before MathJax itself.
 *
 * MathJax 3's startup typesets every formula of the page in one go: on a chapter with 300
 * formulas that is 300-700 ms of main-thread work on a desktop, seconds on a phone, during which
 * the page cannot scroll or respond (Lighthouse: "total blocking time").  Here the startup's
 * pageReady does the same work in MathJax's own order, but a slice of formulas at a time, giving
 * the browser back the main thread between slices:
 *
 *   1. find every formula, as the default typeset does (the whole document);
 *   2. for a few formulas at a time (as many as fit in BUDGET_MS), run MathJax's document-level
 *      render actions between "find" and "insert" -- compile the TeX, measure the surrounding
 *      font (metrics), typeset to CHTML, attach the assistive MathML -- on a view of the
 *      document whose list of formulas is that slice, then yield;
 *   3. render the whole document once more: every formula is then already done up to insertion,
 *      so this only puts them all into the page at once (one layout change, as before) together
 *      with MathJax's style sheet.
 *
 * MathJax.startup.promise resolves, as before, once every formula is on the page, so everything
 * that waits for it (tests, the PDF printer, accessibility.js) sees the same typeset page.  Pages
 * without formulas load no MathJax (and no configuration), and this script then does nothing.
 * Written against MathJax 3.2.2 (Makefile: MATHJAX_VERSION), whose render-action and document
 * internals it uses; an error in it rejects MathJax.startup.promise, which the site tests report.
 */
"use strict";

(() => {
  const config = window.MathJax;
  if (!config) return;
  // A slice's work on this machine class; Lighthouse's phone is taken as 4 times slower, and a
  // task under 50 ms does not count as blocking.
  const BUDGET_MS = 10;

  const yieldToBrowser = () =>
    window.scheduler && typeof window.scheduler.yield === "function"
      ? window.scheduler.yield()
      : new Promise((resolve) => setTimeout(resolve, 0));

  async function typesetInSlices() {
    const { STATE } = MathJax._.core.MathItem;
    const { mathjax } = MathJax._.mathjax;
    const doc = MathJax.startup.document;
    // The render actions that work formula by formula before insertion: compile (TeX to
    // MathML), metrics, typeset (CHTML), assistive MathML, menu.
    const actions = Array.from(doc.renderActions)
      .filter(({ priority }) => priority > STATE.FINDMATH && priority < STATE.INSERTED)
      .map(({ item }) => item);
    const BitField = doc.processed.constructor;

    await mathjax.handleRetriesFor(() => doc.findMath());
    const formulas = Array.from(doc.math);
    let size = 2;
    for (let next = 0; next < formulas.length; ) {
      const slice = formulas.slice(next, next + size);
      const view = Object.create(doc, { math: { value: slice }, processed: { value: new BitField() } });
      const started = performance.now();
      // A retry (MathJax loading a TeX package on demand) runs the slice again; formulas that
      // are done skip every action, as in MathJax's own retries.
      await mathjax.handleRetriesFor(() => actions.forEach((action) => action.renderDoc(view)));
      const elapsed = performance.now() - started;
      next += slice.length;
      size = Math.max(1, Math.min(64, Math.floor((slice.length * BUDGET_MS) / Math.max(elapsed, 1))));
      await yieldToBrowser();
    }
    // Insert every formula and the style sheet (the other actions find nothing left to do).
    await mathjax.handleRetriesFor(() => doc.render());
  }

  config.startup = Object.assign(config.startup || {}, {
    pageReady() {
      const startup = MathJax.config.startup;
      if (!startup.typeset || startup.elements) return MathJax.startup.defaultPageReady();
      return typesetInSlices();
    },
  });
})();
