"""Each example runs as a user would run it: no arguments, against the simulators.

``examples/*.ipynb`` run in a Jupyter kernel in ``test_notebook.py``. The Python
blocks of ``docs/*.md`` run here too, as ``test_readme.py`` runs the README's.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
DOCS = sorted((ROOT / "docs").glob("*.md"))
DOC_BLOCKS = [
    pytest.param(block, id=f"{doc.name}-{i}")
    for doc in DOCS
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))
]

# What each example must print (regular expressions, searched in stdout).
EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        r"placed \d+",
        r"amend accepted True",
        r"cancel accepted True",
        r"second cancel refused: 51400",
    ],
    "async_bot.py": [r"placed 100 orders in [\d.]+ ms, cancelled them in [\d.]+ ms"],
    "rest_port.py": [
        r'okx placed rest1: \{"clOrdId": "rest1", "ordId": "\d+", "sCode": "0"',
        r"okx placed rest2: ",
        r"okx batch cancel sCodes: \['0', '0'\]",
        r"okx refused again: code=51400",
        r"okx caught before sending: bad side",
        r"okx caught before sending: ordtype: .*did you mean ordType\?",
        r'kucoin placed rest3: \{"clientOid": "rest3", "orderId": "\w+"\}',
        r'kucoin cancelled rest3: \{"clientOid": "rest3"',
    ],
    "events_and_logging.py": [
        r"INFO +mybot +socket private open \(account 0\)",
        r"INFO +mybot +reply to order: code 0",
        r"WARNING +mybot +refused cancel-order: sCode 51400",
        r"WARNING +mybot +socket private lost, reconnecting",
        r"WARNING +mybot +ev2: reply lost \(ConnectionLostError\), lookup says executed",
        r"INFO +mybot +ev2 placed as \d+ \(found by lookup\)",
        r"INFO +mybot +socket private back, logged in again",
        r"INFO +mybot +placed ev3 as \d+ after the reconnect",
        r"^done$",
    ],
}


def test_every_example_has_expectations() -> None:
    assert {p.name for p in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    for pattern in EXPECTED.get(path.name, []):
        assert re.search(pattern, proc.stdout, re.M), f"{pattern!r} not in:\n{proc.stdout}"
    # examples configure what they print; nothing reaches stderr behind the user's back
    assert proc.stderr == ""


@pytest.mark.parametrize("block", DOC_BLOCKS)
def test_docs_python_block_runs(block: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "each example prints what a user would see"
