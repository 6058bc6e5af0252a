"""The built distribution works on its own: sdist, wheel from the sdist, clean install.

``python -m build`` makes the sdist and then the wheel *from the sdist* (so the sdist
is complete enough to build from). The wheel is installed into a new, empty venv
with its dependencies resolved by pip as a user's ``pip install okxkc`` would, and
run from a temporary directory in isolated mode (``python -I``: no PYTHONPATH, no
current directory on ``sys.path``), so nothing can come from this source tree.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxkc._version import __version__

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
# Building (an isolated build env) and installing the dependencies can take a while.
pytestmark = pytest.mark.timeout(600)


def _run(cmd: list[str], cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(kw.pop("env", {}))
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, **kw)


class Dist:
    def __init__(self, out: Path) -> None:
        self.wheel = next(out.glob("okxkc-*.whl"))
        self.sdist = next(out.glob("okxkc-*.tar.gz"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], out, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return Dist(out)


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv (no pip of its own, no system site-packages) with the wheel installed."""
    root = tmp_path_factory.mktemp("venv")
    proc = _run([sys.executable, "-m", "venv", "--without-pip", str(root)], root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # This environment's pip installs into the new venv (``pip --python``); the
    # dependencies come from the package index, as for any user.
    proc = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(dist.wheel)],
        root,
        timeout=480,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield python


def test_wheel_contents(dist: Dist) -> None:
    assert dist.wheel.name == f"okxkc-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(dist.wheel) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"okxkc-{__version__}.dist-info/METADATA").decode()
        entry_points = whl.read(f"okxkc-{__version__}.dist-info/entry_points.txt").decode()
    assert "okxkc/py.typed" in names, "PEP 561 marker missing: type checkers would ignore okxkc"
    for module in (
        "okxkc/__main__.py",
        "okxkc/cli.py",
        "okxkc/_version.py",
        "okxkc/okx/client.py",
        "okxkc/kucoin/client.py",
        "okxkc/testing/okx/__init__.py",
        "okxkc/testing/kucoin.py",
        "okxkc/testing/pytest_plugin.py",
    ):
        assert module in names, module
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]
    assert f"\nVersion: {__version__}\n" in meta
    # the runtime dependencies are exactly pyproject's
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requires = sorted(
        line.removeprefix("Requires-Dist: ")
        for line in meta.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    )
    assert requires == sorted(project["dependencies"])
    assert "Classifier: Typing :: Typed" in meta
    assert re.search(r"^\[console_scripts\]\nokxkc = okxkc\.cli:main$", entry_points, re.M)
    assert re.search(r"^\[pytest11\]\nokxkc = okxkc\.testing\.pytest_plugin$", entry_points, re.M)


def test_sdist_contents(dist: Dist) -> None:
    assert dist.sdist.name == f"okxkc-{__version__}.tar.gz"
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for path in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "okxkc/py.typed",
        "okxkc/testing/pytest_plugin.py",
        "tests/conftest.py",
        "tests/typing/check_types.py",
        "tools/generate.py",
        "examples/quickstart.ipynb",
    ):
        assert path in names, path


def test_installed_wheel_runs_without_the_source_tree(venv: Path, tmp_path: Path) -> None:
    site = _run(
        [str(venv), "-I", "-c", "import okxkc, sys; print(okxkc.__file__); print(sys.prefix)"],
        tmp_path,
        timeout=60,
    )
    assert site.returncode == 0, site.stderr
    module_file, prefix = site.stdout.split()
    venv_root = venv.parent.parent
    assert Path(prefix) == venv_root
    assert Path(module_file).is_relative_to(venv_root), module_file
    assert not Path(module_file).is_relative_to(ROOT), module_file

    version = _run([str(venv), "-I", "-m", "okxkc", "--version"], tmp_path, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"okxkc {__version__}"

    script = venv_root / ("Scripts/okxkc.exe" if os.name == "nt" else "bin/okxkc")
    console = _run([str(script), "--version"], tmp_path, timeout=60)
    assert console.stdout.strip() == f"okxkc {__version__}"

    demo = _run([str(venv), "-I", "-m", "okxkc", "demo"], tmp_path, timeout=120)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert re.search(r"^\d+ calls, \d+ ok", demo.stdout, re.M), demo.stdout[-2000:]

    resources = _run(
        [
            str(venv),
            "-I",
            "-c",
            "from importlib.metadata import entry_points; "
            "from importlib.resources import files; "
            "print(files('okxkc').joinpath('py.typed').is_file()); "
            "print([e.value for e in entry_points(group='pytest11') if e.name == 'okxkc'])",
        ],
        tmp_path,
        timeout=60,
    )
    assert resources.stdout.split("\n")[:2] == ["True", "['okxkc.testing.pytest_plugin']"]


USER_CODE = """
from typing import Any, Coroutine

from typing_extensions import assert_type

from okxkc.okx import AsyncWebsocketAPIClient, OkxResponse, OrderAck, WebsocketAPIClient


def blocking(client: WebsocketAPIClient) -> None:
    placed = client.submit_new_order(instId="X", tdMode="cash", side="buy", ordType="market", sz=1)
    assert_type(placed, OkxResponse[OrderAck])
    client.submit_new_order(instid="X", tdMode="cash", side="buy", ordType="market", sz=1)  # type: ignore[call-arg]
    client.submit_new_order(instId="X", side="buy", ordType="market", sz=1)  # type: ignore[call-arg]


async def awaitable(client: AsyncWebsocketAPIClient) -> None:
    call = assert_type(
        client.submit_new_order(instId="X", tdMode="cash", side="buy", ordType="market", sz=1),
        Coroutine[Any, Any, OkxResponse[OrderAck]],
    )
    await call
"""


def test_type_checkers_see_the_installed_package_as_typed(venv: Path, tmp_path: Path) -> None:
    """mypy, pointed at the venv's interpreter, finds okxkc there and uses its types."""
    (tmp_path / "user_code.py").write_text(USER_CODE)
    proc = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--python-executable",
            str(venv),
            "user_code.py",
        ],
        tmp_path,
        timeout=300,
    )
    # no "missing library stubs or py.typed marker", no Any where types are declared
    assert proc.returncode == 0, proc.stdout + proc.stderr
