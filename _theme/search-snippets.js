/* em-lectures: search results show formulas as plain text, not raw TeX.
 *
 * Sphinx's search (searchtools.js) cuts each result's snippet from the page's HTML text, where
 * MathJax has not run yet, so snippets read "\(\gamma_{nk}\)".  Snippets are cut at arbitrary
 * characters, so typesetting them could fail; instead the TeX of each formula is turned into
 * readable text ("γ_nk") before the snippet is cut.  Loaded on every page (html_js_files);
 * it does something only where the search script is loaded.
 */
"use strict";

const TEX_SYMBOLS = {
  alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ",
  eta: "η", theta: "θ", vartheta: "ϑ", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ",
  pi: "π", rho: "ρ", sigma: "σ", tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ",
  omega: "ω", Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π", Sigma: "Σ",
  Phi: "Φ", Psi: "Ψ", Omega: "Ω", sum: "Σ", prod: "Π", int: "∫", infty: "∞", partial: "∂",
  nabla: "∇", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈",
  propto: "∝", times: "×", cdot: "·", ldots: "…", cdots: "…", mid: "|", in: "∈", to: "→",
  rightarrow: "→", leftarrow: "←", log: "log", exp: "exp", max: "max", min: "min",
  quad: " ", qquad: " ", left: "", right: "", big: "", Big: "", bigl: "", bigr: "",
};

/** Readable text for TeX: \frac{a}{b} -> (a)/(b), \gamma -> γ, environments and braces dropped.
 *  Applied to the whole snippet, since a snippet may start or end inside a formula. */
function texToText(text) {
  const group = "((?:[^{}]|\\{[^{}]*\\})*)";  // braces nested one deep
  return text
    .replace(/\\[()[\]]|\$\$/g, " ")
    .replace(/\\(?:begin|end)\{[^{}]*\}/g, " ")
    .replace(new RegExp(`\\\\[dt]?frac\\{${group}\\}\\{${group}\\}`, "g"), "($1)/($2)")
    .replace(/\\\\/g, "; ")
    .replace(/&(?=\s*[=<>\\])/g, "")  // alignment points, not "Laird & Rubin"
    .replace(/\\(?:mathbf|mathrm|mathcal|mathbb|boldsymbol|operatorname|text|hat|bar|tilde)\b\s*/g, "")
    .replace(/\\([A-Za-z]+)/g, (match, name) => (name in TEX_SYMBOLS ? TEX_SYMBOLS[name] : name))
    .replace(/\\[,;:! ]/g, " ")
    .replace(/\\([{}|])/g, "$1")
    .replace(/[{}]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => texToText(htmlToText(htmlString, anchor));
});
