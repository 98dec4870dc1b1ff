"""editors/vscode: the TextMate grammar is what the instruction table gives (a stale file
fails), its patterns colour what they should, and the manifest wires grammar and server."""

import json
import re
from pathlib import Path

from ktasm import vscode
from ktasm.assembler import DIRECTIVES
from vm import isa

EDITOR = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def test_grammar_file_is_current():
    assert vscode.main(["--check"]) == 0, "run: python -m ktasm.vscode"
    assert json.loads(vscode.GRAMMAR_PATH.read_text()) == vscode.grammar()


def test_check_fails_on_a_stale_grammar(tmp_path, monkeypatch):
    stale = tmp_path / "kta.tmLanguage.json"
    old = vscode.grammar()
    old["repository"]["instruction"]["patterns"].pop()  # as if an instruction group were added since
    stale.write_text(json.dumps(old, indent=2) + "\n")
    monkeypatch.setattr(vscode, "GRAMMAR_PATH", stale)
    assert vscode.main(["--check"]) == 1
    assert vscode.main([]) == 0 and vscode.main(["--check"]) == 0  # regenerated


def _scope_of(word: str) -> str | None:
    repo = vscode.grammar()["repository"]
    for pattern in repo["instruction"]["patterns"]:
        if re.fullmatch(pattern["match"], word):
            return pattern["name"]
    return None


def test_every_mnemonic_and_directive_is_coloured_and_names_are_not():
    for ins in isa.INSTRUCTIONS:
        assert _scope_of(ins.mnemonic) is not None, ins.mnemonic
        assert _scope_of(ins.mnemonic.lower()) is not None  # mnemonics are case-insensitive
    assert _scope_of("JMP") == "keyword.control.kta"
    assert _scope_of("samples") is None and _scope_of("FFX") is None
    directive = re.compile(vscode.grammar()["repository"]["directive"]["match"])
    for d in DIRECTIVES:
        assert directive.fullmatch(f".{d}")
    assert not directive.fullmatch(".bogus")
    register = re.compile(vscode.grammar()["repository"]["register"]["match"])
    assert register.fullmatch("r15") and not register.fullmatch("r16")


def test_manifest_wires_the_grammar_and_the_server():
    manifest = json.loads((EDITOR / "package.json").read_text())
    grammar = manifest["contributes"]["grammars"][0]
    assert (EDITOR / grammar["path"]).resolve() == vscode.GRAMMAR_PATH
    assert grammar["scopeName"] == vscode.grammar()["scopeName"]
    assert manifest["contributes"]["languages"][0]["extensions"] == [".kta"]
    assert manifest["contributes"]["configuration"]["properties"]["ktasm.command"]["default"] == [
        "ktasm",
        "lsp",
    ]
    assert (EDITOR / manifest["main"]).is_file()
    assert 'getConfiguration("ktasm").get("command")' in (EDITOR / "extension.js").read_text()
