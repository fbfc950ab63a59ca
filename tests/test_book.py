"""emlib.book: glue with and without myst-nb, and the chapters' version stamp."""

import datetime
import platform
import sys

import numpy as np
import pytest
import scipy
import sklearn
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import emlib
from emlib import book


def test_glue_is_myst_nbs_where_it_is_installed():
    pytest.importorskip("myst_nb")
    InteractiveShell.instance()
    with capture_output() as captured:
        book.glue("answer", 42)
    [output] = captured.outputs
    assert output.metadata["scrapbook"]["name"] == "answer"  # what myst-nb's glue attaches


def test_glue_only_shows_the_value_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # `import myst_nb` now raises ImportError
    InteractiveShell.instance()
    with capture_output() as captured:
        book.glue("answer", 42)
        book.glue("hidden", 7, display=False)
    assert [o.data["text/plain"] for o in captured.outputs] == ["42"]
    assert all("scrapbook" not in (o.metadata or {}) for o in captured.outputs)


def test_watermark_names_the_day_and_the_versions():
    line = book.watermark(datetime.date(2026, 12, 3))
    assert line.startswith("Executed on 2026-12-03 (")
    for name, version in [("Python", platform.python_version()), ("emlib", emlib.__version__),
                          ("numpy", np.__version__), ("scipy", scipy.__version__),
                          ("scikit-learn", sklearn.__version__)]:
        assert f"{name} {version}" in line
    assert max(len(row) for row in line.splitlines()) <= 88  # the book's code width
    narrow = book.watermark(datetime.date(2026, 12, 3), width=24)
    assert len(narrow.splitlines()) > 3  # wrapped, but never inside a pair:
    assert any(f"numpy {np.__version__}" in row for row in narrow.splitlines())
    assert book.watermark().startswith(f"Executed on {datetime.date.today().isoformat()}")
