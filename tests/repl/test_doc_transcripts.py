"""The REPL transcripts in README.md and docs/repl.md are what this build prints (issue 15,
class 7: they showed numbers the build did not print)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ktasm.repl.engine import Session

ROOT = Path(__file__).resolve().parents[2]


def transcripts(path: Path) -> list[list[tuple[str, list[str]]]]:
    """Each ``$ ktasm repl`` block: (typed line, the lines printed after it)."""
    out = []
    for block in re.findall(r"```\n\$ ktasm repl\n(.*?)```", path.read_text(), re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("kta> "):
                steps.append((line[len("kta> ") :], []))
            elif steps:
                steps[-1][1].append(line)
        out.append(steps)
    return out


@pytest.mark.parametrize("doc", ["README.md", "docs/repl.md"])
def test_the_documented_repl_tour_prints_what_the_build_prints(doc):
    blocks = transcripts(ROOT / doc)
    assert blocks, f"no transcript in {doc}"
    for steps in blocks:
        printed: list[str] = []
        session = Session(out=printed.append, err=printed.append, input_name="<repl>")
        for typed, expected in steps:
            printed.clear()
            session.execute(typed)
            shown = "\n".join(printed).splitlines()
            if expected:  # a step shown without output (the last .state in README) is not checked
                assert shown == expected, f"{doc}: {typed!r}"
