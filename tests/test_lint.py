"""The project's own Python, read without running it: every name it uses is defined, and every line fits
the width the code is written to.

The bench runs in a venv of its own (numpy, libvips) and no test imports it, so a name
left undefined there by a refactor would surface only in `make bench`, minutes in.
"""

import ast
from pathlib import Path

import pytest
from pyflakes import checker, messages

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(path for folder in ("edge", "local", "ops", "bench", "tests")
                 for path in (ROOT / folder).rglob("*.py"))
UNDEFINED = (messages.UndefinedName, messages.UndefinedExport, messages.UndefinedLocal)
MOST_CHARACTERS_A_LINE = 120


def undefined_names(source: str, filename: str) -> list[str]:
    found = checker.Checker(ast.parse(source, filename), filename=filename).messages
    return [f"{filename}:{message.lineno}: {message.message % message.message_args}"
            for message in found if isinstance(message, UNDEFINED)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_name_used_is_defined(path):
    assert undefined_names(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_line_is_wider_than_the_code_is_written_to(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [number for number, line in enumerate(lines, 1) if len(line) > MOST_CHARACTERS_A_LINE] == []


def test_a_name_left_behind_by_a_move_is_found():
    """What bench/measure.py looked like once its helper had moved to bench/timing.py."""
    source = ("from bench.timing import interleaved_times\n\n"
              "def peaks(engines, turn):\n    return rotated(engines, turn)\n")
    assert undefined_names(source, "measure.py") == ["measure.py:4: undefined name 'rotated'"]


def test_the_sources_are_found():
    assert {"edge/handler.py", "bench/measure.py", "local/cdn.py", "ops/log_retention.py", "tests/test_lint.py"} <= {
        str(path.relative_to(ROOT)) for path in SOURCES
    }
