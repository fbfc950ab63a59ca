"""The nbval comparison of chapters/conftest.py accepts last-digit rounding flips and nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "chapters" / "conftest.py"
spec = importlib.util.spec_from_file_location("chapters_nbval_tolerance", PLUGIN)
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)


@pytest.mark.parametrize(
    "stored, fresh",
    [
        ("w = 0.3650", "w = 0.3649"),  # a rounding boundary crossed
        ("mu = [54.615 80.091]", "mu = [54.614 80.091]"),
        ("0.361", "0.3609"),  # glue of round(x, 4) dropped a trailing zero
        ("1.0", "0.9999"),
        ("loglik -1034.002", "loglik -1034.001"),
        ("-0.000", "0.000"),
        ("1.23e-05", "1.24e-05"),
        ("   mean  9.99\nx  1", "   mean 10.00\nx  1"),  # re-aligned column
        ("-1034.0017498412345", "-1034.0017498412347"),  # full repr, 1e-12 relative
    ],
)
def test_accepts_one_unit_in_the_last_digit(stored, fresh):
    assert plugin.texts_agree(stored, fresh)


@pytest.mark.parametrize(
    "stored, fresh",
    [
        ("w = 0.3650", "w = 0.3648"),  # two units
        ("w = 0.365", "w = 0.366 "),  # trailing text differs
        ("0.36", "0.3609"),  # nine units of the finer digit
        ("count 47", "count 48"),  # integers are exact
        ("BIC 2185", "BIC 2186"),
        ("1.23e-05", "1.23e-04"),
        ("converged", "diverged"),
        ("a 1.0 b", "a 1.0 c"),
        ("x = 1.0", "x = 1.0, 2.0"),  # one number more
        ("-1034.00174984", "-1034.00174986"),  # 2e-11 relative, printed to 8 decimals
    ],
)
def test_rejects_anything_else(stored, fresh):
    assert not plugin.texts_agree(stored, fresh)


def test_units_of_the_last_digit():
    assert plugin.last_digit_unit("12") is None
    assert plugin.last_digit_unit("0.250") == plugin.Decimal("0.001")
    assert plugin.last_digit_unit("2.5e3") == plugin.Decimal("100")
    assert plugin.last_digit_unit("7.") == plugin.Decimal("1")
