"""The public API's docstrings: every name in ktasm.apidoc.API (and its methods) has one,
help() shows it, and docs/api.md is what they generate."""

import doctest
import pydoc
from pathlib import Path

import ktasm.assembler
from ktasm import apidoc

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_every_public_name_has_a_docstring():
    assert apidoc.undocumented() == []


def test_docs_api_md_is_current():
    assert API_MD.read_text() == apidoc.render(), "run: python -m ktasm.apidoc > docs/api.md"


def test_help_shows_the_docstrings():
    from vm.machine import Machine, RunResult

    text = pydoc.render_doc(ktasm.assembler.assemble_text, renderer=pydoc.plaintext)
    assert "Raises ``KtasmError``" in text
    assert "r0..r15" in pydoc.render_doc(Machine, renderer=pydoc.plaintext)
    assert "why it stopped" in pydoc.render_doc(RunResult, renderer=pydoc.plaintext)


def test_docstring_examples_run():
    assert doctest.testmod(ktasm.assembler).failed == 0


def test_undocumented_notices_a_missing_docstring(monkeypatch):
    monkeypatch.setattr(apidoc, "API", [("ktasm.lsp", ["word_at", "Analysis"])])

    def bare():
        pass

    monkeypatch.setattr("ktasm.lsp.word_at", bare)
    assert apidoc.undocumented() == ["ktasm.lsp.word_at"]
