"""The book's bibliography: author-year labels, DOI links and back-links to the citing pages.

A local Sphinx extension (``_config.yml``: ``sphinx.local_extensions``).  The text cites in
author-year form ("Dempster et al., 1977", sphinxcontrib-bibtex's ``author_year`` reference
style); pybtex's default labels ("DLR77") made the bibliography's labels differ from the
citations that link to them.  Here the labels are the citations' own text, each entry with a
DOI links to it, and each entry lists the pages that cite it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.richtext import HRef, Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def surname(person) -> str:
    """A person's last name as plain text (LaTeX accents decoded)."""
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year(entry) -> str:
    """``Bishop, 2006``, ``Arthur and Vassilvitskii, 2007``, ``Dempster et al., 1977``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [surname(p) for p in people]
    if len(names) >= 3:
        who = f"{names[0]} et al."
    else:
        who = " and ".join(names) or entry.fields.get("organization", entry.key)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels, with a, b, ... after the year when two entries would share one."""

    def format_labels(self, sorted_entries):
        labels = [author_year(entry) for entry in sorted_entries]
        shared = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in shared:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries sorted by author and year, labelled author-year, DOIs linked."""

    default_label_style = "emlectures_author_year"
    default_sorting_style = "author_year_title"

    def format_entry(self, label, entry, bib_data=None):
        formatted = super().format_entry(label, entry, bib_data=bib_data)
        doi = entry.fields.get("doi")
        if doi and doi not in formatted.text.render_as("text"):  # unsrt links it for some types
            formatted.text = Text(formatted.text, " ", HRef(f"https://doi.org/{doi}", f"doi:{doi}"))
        return formatted


def add_citing_pages(app, doctree, docname) -> None:
    """After each bibliography entry, links to the pages that cite it."""
    domain = app.env.get_domain("cite")
    keys = {c.citation_id: c.key for c in domain.citations if c.bibliography_key.docname == docname}
    if not keys:
        return
    citing = defaultdict(set)
    for ref in domain.citation_refs:
        for target in ref.targets:
            citing[target.key].add(ref.docname)
    for citation in doctree.findall(nodes.citation):
        key = next((keys[i] for i in citation["ids"] if i in keys), None)
        if key is None or not citing[key]:
            continue
        paragraph = nodes.paragraph(classes=["cited-in"])
        paragraph += nodes.Text("Cited in: ")
        for n, page in enumerate(sorted(citing[key])):
            if n:
                paragraph += nodes.Text("; ")
            link = nodes.reference("", "", internal=True, refuri=app.builder.get_relative_uri(docname, page))
            link += nodes.Text(app.env.titles[page].astext())
            paragraph += link
        citation += paragraph


def setup(app):
    register_plugin("pybtex.style.labels", "emlectures_author_year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "emlectures", AuthorYearStyle)
    app.connect("doctree-resolved", add_citing_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
