"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel.

The kernel is this interpreter (``sys.executable -m ipykernel_launcher``), described
by a kernelspec written to a temporary directory, so the test neither depends on
nor touches the machine's installed kernels.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "quickstart.ipynb"
KERNEL = "okxkc-test-python"


def _install_kernelspec(tmp: Path) -> Path:
    """A kernelspec for this interpreter, in a directory to put on JUPYTER_PATH."""
    spec_dir = tmp / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "okxkc tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return tmp / "jupyter"


def _text(cell: Any) -> str:
    """Everything a cell showed: streams and rich results (as plain text)."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.timeout(120)
def test_quickstart_notebook_runs_in_a_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jupyter_core warns (DeprecationWarning) unless told which config paths to use.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("JUPYTER_PATH", str(_install_kernelspec(tmp_path)))
    # the kernel must not find a different okxkc through an inherited PYTHONPATH
    monkeypatch.delenv("PYTHONPATH", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=30,
        startup_timeout=60,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    code = [c for c in nb.cells if c.cell_type == "code"]
    shown = [_text(c) for c in code]
    everything = "\n".join(shown)
    # okxkc prints nothing by itself. With the default listeners on, a refusal is also
    # logged at WARNING (Python's last-resort handler shows it on stderr), so the one
    # cell that provokes a refusal may show that line; no other cell writes to stderr.
    refusing = next(i for i, c in enumerate(code) if "except ExchangeError" in c.source)
    for i, cell in enumerate(code):
        for out in cell.outputs:
            if out.get("name") == "stderr":
                assert i == refusing, (i, out["text"])
                assert out["text"].startswith("okx exception "), out["text"]

    assert "simulated OKX listening on ws://127.0.0.1:" in everything
    assert "<okxkc.okx.WebsocketAPIClient accounts=[okxkc-…]>" in everything
    placed = re.search(r"ordId: (\d+) sCode: 0", everything)
    assert placed, everything
    order_id = placed.group(1)
    assert f"'ordId': '{order_id}'" in everything  # res.to_dict()
    assert "amend sCode: 0 | cancel sCode: 0" in everything
    assert "refused: 51400" in everything
    assert "not sent, bad field: sz" in everything
    assert "placed concurrently: ['0', '0', '0', '0', '0']" in everything
    assert f"{order_id} buy 20010 canceled" in everything  # the simulator's order book
    assert shown[-1].strip() == "closed"
