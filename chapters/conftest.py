"""nbval compares printed numbers up to one unit in their last printed digit.

The chapters print every deterministic result at a precision far coarser than its numerical
error (CONTRIBUTING.md, "Numbers that hold on any machine"), so a processor with other BLAS
kernels or SIMD instructions changes a printed digit only when the exact value sits on a
rounding boundary, and then by one unit in the last place: 0.3650 on one machine, 0.3649 on
another.  nbval compares outputs as strings and would call that a failure, so this plugin,
loaded by pytest for the notebooks in this folder, makes nbval accept exactly that and
nothing more, in the spirit of astropy's FLOAT_CMP for doctests:

* the text between the numbers must be identical (runs of blanks count as one blank, since
  a table re-aligns its columns when a number gains a digit);
* integers (no decimal point, no exponent) must be identical: counts are exact;
* two decimal numbers agree when they differ by at most one unit in the last digit of the
  more precise of the two (``0.361`` and ``0.3609`` are one unit of 1e-4 apart: the glued value
  ``round(x, 4)`` drops a trailing zero), or by a relative 1e-12 (full-precision reprs).

Monte Carlo results are not compared this way at all: their cells are marked
``# NBVAL_IGNORE_OUTPUT`` and guarded by asserts with tolerances from the Monte Carlo standard
error (CONTRIBUTING.md).  tests/test_nbval_tolerance.py tests :func:`texts_agree`.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

from nbval.plugin import IPyNbCell

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
BLANKS = re.compile(r"[ \t]+")
RELATIVE_TOLERANCE = 1e-12


def split_numbers(text: str) -> tuple[list[str], list[str]]:
    """The text between the numbers (blanks collapsed) and the numbers, as printed."""
    numbers = NUMBER.findall(text)
    between = [BLANKS.sub(" ", part) for part in NUMBER.split(text)]
    return between, numbers


def last_digit_unit(number: str) -> Decimal | None:
    """One unit in the last printed digit of a decimal number; None for an integer."""
    mantissa, _, exponent = number.lower().partition("e")
    if "." not in mantissa and not exponent:
        return None
    decimals = len(mantissa.partition(".")[2])
    return Decimal(1).scaleb(int(exponent or 0) - decimals)


def numbers_agree(a: str, b: str) -> bool:
    """Equal integers, or decimals within one unit of the finer last digit (or 1e-12 relative)."""
    if a == b:
        return True
    unit_a, unit_b = last_digit_unit(a), last_digit_unit(b)
    if unit_a is None or unit_b is None:
        return False
    x, y = Decimal(a), Decimal(b)
    gap = abs(x - y)
    return gap <= min(unit_a, unit_b) or gap <= Decimal(RELATIVE_TOLERANCE) * max(abs(x), abs(y))


def texts_agree(reference: str, result: str) -> bool:
    """Whether two outputs are the same text with numbers that agree by :func:`numbers_agree`."""
    if reference == result:
        return True
    between_ref, numbers_ref = split_numbers(reference)
    between_res, numbers_res = split_numbers(result)
    return (
        between_ref == between_res
        and len(numbers_ref) == len(numbers_res)
        and all(numbers_agree(a, b) for a, b in zip(numbers_ref, numbers_res))
    )


def _texts_by_key(outputs: list) -> dict[str, list[tuple[dict, str]]]:
    """(container, field) of every text of the outputs, grouped by the key nbval compares them
    under: a stream's name ('stdout', 'stderr'), or the MIME type of display data."""
    fields: dict[str, list[tuple[dict, str]]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            fields.setdefault(output["name"], []).append((output, "text"))
        for mime, data in output.get("data", {}).items():
            if isinstance(data, str):
                fields.setdefault(mime, []).append((output["data"], mime))
    return fields


def adopt_agreeing_texts(test: list, ref: list, sanitize=lambda text: text) -> list:
    """A copy of the fresh outputs ``test`` in which every text that agrees with its stored
    counterpart in ``ref`` (by :func:`texts_agree`, after ``sanitize``) is the stored text."""
    test = copy.deepcopy(test)
    stored = _texts_by_key(ref)
    for key, places in _texts_by_key(test).items():
        for (container, field), (ref_container, ref_field) in zip(places, stored.get(key, [])):
            ours, theirs = sanitize(container[field]), sanitize(ref_container[ref_field])
            if ours != theirs and texts_agree(theirs, ours):
                container[field] = ref_container[ref_field]
    return test


_compare_outputs = IPyNbCell.compare_outputs


def compare_outputs(self, test, ref, skip_compare=None):
    """nbval's comparison, after adopting the stored text wherever the numbers agree."""
    return _compare_outputs(self, adopt_agreeing_texts(test, ref, self.sanitize), ref, skip_compare)


IPyNbCell.compare_outputs = compare_outputs
