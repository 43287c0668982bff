"""examples/studio.ipynb runs top to bottom in a real kernel, and shows pictures."""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "examples" / "studio.ipynb"


def test_studio_notebook_executes_and_displays_pages_pictures_and_plots(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [set(o.get("data", {})) for o in outputs]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('id="symgrad-data"' in h and "Derivation of f at x = 2" in h for h in html)   # d.html()
    assert any("B_1" in h for h in html)                                  # the MLP derivation page
    assert any('id="answers"' in h for h in html)                         # the practice page
    assert sum("image/png" in k for k in kinds) >= 5                      # the five plots
    assert any("image/svg+xml" in k for k in kinds)                       # g: the graph's picture
    assert any("MLP [2, 2, 1]" in h and "<svg" in h for h in html)        # net: the lecture's picture
