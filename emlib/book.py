"""What the chapters need from the book around them, with a fallback when they run on their own.

A chapter downloaded from the website, or opened on Colab or Binder, runs without the book's
build tools: :func:`glue` then only shows its value, and :func:`watermark` says what the
chapter ran with.
"""

from __future__ import annotations

import datetime
import platform
import textwrap
from importlib import metadata
from typing import Any

__all__ = ["glue", "watermark"]

#: The packages whose versions a chapter's stamp reports, besides Python and emlib.
STAMPED_PACKAGES = ("numpy", "scipy", "matplotlib", "scikit-learn", "pandas", "pymc", "dask")


def glue(name: str, value: Any, display: bool = True) -> None:
    """myst-nb's :func:`myst_nb.glue` where it is installed, else show ``value`` (if ``display``).

    Inside the book, glue stores ``value`` under ``name`` for the text to quote; outside it (a
    downloaded chapter with only the packages its first cell installs) the text is not built,
    so showing the value where the cell computes it is all a reader needs.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def package_versions(names: tuple[str, ...] = STAMPED_PACKAGES) -> dict[str, str]:
    """``{package: version}`` for Python, emlib and each installed package of ``names``."""
    versions = {"Python": platform.python_version(), "emlib": metadata.version("emlib")}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def watermark(executed: datetime.date | None = None, width: int = 88) -> str:
    """When the chapter's outputs were computed, with which versions, on which OS.

    Like pymc-examples' ``%watermark``; the chapters print it, small, at their end. The text is
    wrapped at ``width`` characters (the book's code width), never inside a "name version" pair.
    """
    day = (executed or datetime.date.today()).isoformat()
    pairs = ", ".join(f"{name}\N{NO-BREAK SPACE}{version}" for name, version in package_versions().items())
    text = f"Executed on {day} ({platform.system()} {platform.machine()}) with {pairs}."
    return textwrap.fill(text, width).replace("\N{NO-BREAK SPACE}", " ")
