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


def test_fresh_outputs_adopt_the_stored_text_only_where_numbers_agree():
    """What nbval then compares: agreeing texts become identical, others stay as they were."""
    from nbformat.v4 import new_output

    stored = [
        new_output("stream", name="stdout", text="w = 0.3650\n"),
        new_output("execute_result", data={"text/plain": "count 47"}, execution_count=3),
        new_output("display_data", data={"application/papermill.record/text/plain": "0.361"}),
    ]
    fresh = [
        new_output("stream", name="stdout", text="w = 0.3649\n"),
        new_output("execute_result", data={"text/plain": "count 48"}, execution_count=3),
        new_output("display_data", data={"application/papermill.record/text/plain": "0.3609"}),
    ]
    adopted = plugin.adopt_agreeing_texts(fresh, stored)
    assert adopted[0].text == "w = 0.3650\n"  # one unit in the last digit: the stored text
    assert adopted[1].data["text/plain"] == "count 48"  # integers differ: left to fail
    assert adopted[2].data["application/papermill.record/text/plain"] == "0.361"
    assert fresh[0].text == "w = 0.3649\n"  # the fresh outputs themselves are not changed
    assert adopted[0].output_type == "stream"  # still notebook nodes, as nbval expects


@pytest.mark.parametrize("printed, passes", [("0.3649", True), ("0.3648", False)])
def test_nbval_with_the_plugin_accepts_a_flip_and_rejects_more(tmp_path, printed, passes):
    """End to end: nbval re-runs a cell that prints `printed` where 0.3650 is stored."""
    import shutil
    import subprocess
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cell = new_code_cell(f"print('w = {printed}')", execution_count=1)
    cell.outputs = [new_output("stream", name="stdout", text="w = 0.3650\n")]
    notebook = new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "flip.ipynb")
    shutil.copy(PLUGIN, tmp_path / "conftest.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), str(tmp_path / "flip.ipynb")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert (result.returncode == 0) == passes, result.stdout[-2000:]
