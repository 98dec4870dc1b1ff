"""``ktasm lsp`` driven by a real LSP client (pygls's) over a pipe to a subprocess:
initialize, didOpen, didChange, publishDiagnostics, completion, hover, definition."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

from ktasm import lsp  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

GOOD = """.include "thompson.kta"
.core lanes=4 seed=1
.const DIAL = 0.93
.aat z = (0)
.vec samples n=4
.macro TWICE x
        OUT x
        OUT x
.endm
start:
        FF    L0, z
        TWICE DIAL
        JMP   start
"""


def _position(text, needle, line_offset=0):
    for i, line in enumerate(text.splitlines()):
        if needle in line:
            return types.Position(i, line.index(needle) + line_offset)
    raise AssertionError(needle)


async def _session(tmp_path):
    path = tmp_path / "prog.kta"
    path.write_text(GOOD)
    uri = from_fs_path(str(path))
    client = LanguageClient("ktasm-test", "0")
    published: dict[int | None, asyncio.Future] = {}
    received: list = []

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(ls, params: types.PublishDiagnosticsParams):
        received.append(params)
        future = published.get(params.version)
        if future is not None and not future.done():
            future.set_result(params.diagnostics)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    await client.start_io(sys.executable, "-m", "ktasm", "lsp", env=env)
    loop = asyncio.get_running_loop()

    async def diagnostics_for(version, send):
        published[version] = loop.create_future()
        send()
        return await asyncio.wait_for(published[version], 60)

    result = await asyncio.wait_for(
        client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(tmp_path))
            )
        ),
        60,
    )
    client.initialized(types.InitializedParams())
    assert result.capabilities.hover_provider and result.capabilities.definition_provider
    assert result.capabilities.completion_provider is not None
    out = {}
    doc = types.TextDocumentIdentifier(uri=uri)
    out["open"] = await diagnostics_for(
        1,
        lambda: client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "kta", 1, GOOD))
        ),
    )
    pos = _position(GOOD, "TWICE DIAL", 8)
    out["hover_name"] = await client.text_document_hover_async(types.HoverParams(doc, pos))
    out["hover_ins"] = await client.text_document_hover_async(
        types.HoverParams(doc, _position(GOOD, "FF", 1))
    )
    out["def_const"] = await client.text_document_definition_async(types.DefinitionParams(doc, pos))
    out["def_label"] = await client.text_document_definition_async(
        types.DefinitionParams(doc, _position(GOOD, "JMP   start", 8))
    )
    out["def_macro"] = await client.text_document_definition_async(
        types.DefinitionParams(doc, _position(GOOD, "TWICE DIAL", 2))
    )
    # completion of an AAT operand: "FF L0, " -> the program's AATs
    bad = GOOD.replace("        FF    L0, z", "        FF    L0, zz\n        FX    L0, z")
    out["change"] = await diagnostics_for(
        2,
        lambda: client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                [types.TextDocumentContentChangeWholeDocument(text=bad)],
            )
        ),
    )
    line = _position(bad, "FF    L0, zz").line
    out["complete_aat"] = await client.text_document_completion_async(
        types.CompletionParams(doc, types.Position(line, len("        FF    L0, z")))
    )
    out["complete_mnemonic"] = await client.text_document_completion_async(
        types.CompletionParams(doc, types.Position(line, len("        F")))
    )
    out["def_std_macro"] = None
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    out["uri"], out["path"] = uri, path
    return out


@pytest.fixture(scope="module")
def lsp_session(tmp_path_factory):
    return asyncio.run(_session(tmp_path_factory.mktemp("lsp")))


def test_clean_file_has_no_diagnostics(lsp_session):
    assert list(lsp_session["open"]) == []


def test_change_publishes_the_assemblers_diagnostics_with_ranges(lsp_session):
    diagnostics = lsp_session["change"]
    by_line = {d.range.start.line: d for d in diagnostics}
    bad = GOOD.replace("        FF    L0, z", "        FF    L0, zz\n        FX    L0, z").splitlines()
    zz = next(i for i, line in enumerate(bad) if "zz" in line)
    fx = next(i for i, line in enumerate(bad) if "FX" in line)
    assert set(by_line) == {zz, fx}
    assert "zz" in by_line[zz].message
    assert (by_line[zz].range.start.character, by_line[zz].range.end.character) == (18, 20)
    assert "FX" in by_line[fx].message and by_line[fx].range.start.character == 8
    assert all(d.severity == types.DiagnosticSeverity.Error for d in diagnostics)


def test_hover_shows_the_table_row_and_the_declaration(lsp_session):
    ins = lsp_session["hover_ins"].contents.value
    assert "**FF**" in ins and "example" in ins.lower()
    name = lsp_session["hover_name"].contents.value
    assert "const" in name and "= 0.93" in name


def test_definition_of_a_constant_a_label_and_a_macro(lsp_session):
    lines = GOOD.splitlines()
    for key, needle in (("def_const", ".const DIAL"), ("def_label", "start:"), ("def_macro", ".macro TWICE")):
        loc = lsp_session[key]
        assert loc.uri == lsp_session["uri"]
        assert needle in lines[loc.range.start.line], key
    assert lsp_session["def_const"].range.start.character == len(".const ")


def test_completion_from_the_table_and_the_programs_names(lsp_session):
    aats = [i.label for i in lsp_session["complete_aat"].items]
    assert aats == ["z"]
    mnemonics = {i.label for i in lsp_session["complete_mnemonic"].items}
    assert {"FF", "FFLV", "FH"} <= mnemonics and "TWICE" not in mnemonics
    item = lsp_session["complete_mnemonic"].items[0]
    assert item.text_edit.range.start.character == len("        ")


def test_include_diagnostic_lands_on_the_include_line(tmp_path):
    (tmp_path / "lib.kta").write_text(".aat q = (0)\n        FX L0, q\n")
    text = '.core lanes=1\n.include "ahah.kta"\n.include "lib.kta"\n'
    (tmp_path / "main.kta").write_text(text)  # includes resolve beside the file on disk
    analysis = lsp.analyze(text, str(tmp_path / "main.kta"))
    assert len(analysis.problems) == 1
    line, _, _, message = analysis.problems[0]
    assert line == 2 and "lib.kta:2:" in message and "FX" in message


def test_definition_in_an_included_stdlib_file():
    analysis = lsp.analyze(GOOD, "/nonexistent/prog.kta")
    found = lsp.definition_of(analysis, "TS_PULL")
    assert found is not None and found.kind == "macro" and found.span.file.endswith("thompson.kta")
    assert "TS_PULL" in lsp.completions(analysis, analysis.program, "  TS_P")[0].text


def test_definition_range_is_the_name(lsp_session):
    r = lsp_session["def_const"].range
    assert (r.start.line, r.start.character, r.end.character) == (2, 7, 7 + len("DIAL"))


def test_help_does_not_import_the_server_or_the_notebook_stack():
    import subprocess

    code = (
        "import sys; sys.argv = ['ktasm', 'lsp', '--help']\n"
        "from ktasm.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'numba', 'pygls', 'lsprotocol', 'IPython', 'tqdm', 'nbclient'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "language server" in proc.stdout
