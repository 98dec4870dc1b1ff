"""``ktasm lsp``: a language server for .kta files over stdio (pygls).

- Diagnostics as you type: the assembler's own (``KtasmError``), includes and macros
  resolved, each with its range; a problem inside an included file is reported on the
  ``.include`` line that brought it in.
- Completion: ``ktasm.repl.complete.complete_source``, the REPL's completion over the
  instruction table and the names of the last program the file assembled to.
- Hover: an instruction's row of the table (operands, summary, example); a name's
  declaration (a constant's value, a label's pc, an AAT, a device, a macro, data).
- Go to definition: labels, macros, constants, AATs, data tables and devices, also in
  included files.

The analysis (``analyze``, ``hover_text``, ``definition_of``, ``completions``) is plain
Python over the document text; the server only converts to and from lsprotocol types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ktasm import __version__, ast
from ktasm.assembler import DIRECTIVES, assemble_statements
from ktasm.errors import Collector, KtasmError, Span
from ktasm.expand import Sources, load, splice_includes
from ktasm.parser import parse_text
from ktasm.repl.complete import Suggestion, complete_source
from vm import config as _config
from vm import isa
from vm.bytecode import Program

WORD = re.compile(r"\.?[A-Za-z_][\w.@]*")
DEVICE_KINDS = tuple(_config.DEVICE_KINDS)


@dataclass(frozen=True)
class Definition:
    """Where a name is declared: its kind (label, macro, const, aat, data or a device
    kind), the span of the name, and the declaring line's text."""

    name: str
    kind: str
    span: Span
    line_text: str


@dataclass
class Analysis:
    """What the server knows about one document."""

    path: str
    program: Program | None  # None when the text does not assemble
    problems: list[tuple[int, int, int, str]] = field(default_factory=list)  # line0, col0, end0, message
    definitions: dict[str, Definition] = field(default_factory=dict)
    macros: list[str] = field(default_factory=list)


def analyze(text: str, path: str) -> Analysis:
    """Assemble text (as the file at path, so includes resolve beside it) and collect its
    diagnostics (0-based line, start and end column, message) and declarations."""
    errors = Collector()
    program: Program | None = None
    try:
        statements, sources = load(text, path, errors)
        program = assemble_statements(statements, sources, errors)
        diagnostics = []
    except KtasmError as exc:
        diagnostics = exc.diagnostics
    except Exception as exc:  # an assembler bug must not take the editor's server down
        diagnostics = []
        problems = [(0, 0, 1, f"internal error in the assembler: {type(exc).__name__}: {exc}")]
        return Analysis(path, None, problems, *_declarations(text, path))
    problems = []
    for d in diagnostics:
        message = d.message + "".join(f"\nnote: {n}" for n in d.notes)
        if d.span.file == path:
            line = d.span.line - 1
            col = max(0, d.span.col - 1)
            end = (d.span.end_col - 1) if d.span.end_col and d.span.end_col > d.span.col else col + 1
            problems.append((line, col, end, message))
        else:
            problems.append((_include_line(text, d.span.file), 0, 200, f"{d.span}: {message}"))
    return Analysis(path, program, problems, *_declarations(text, path))


def _include_line(text: str, included: str) -> int:
    """The .include line that names included (by its file name), else the first one (a
    nested include), else the first line."""
    name = included.replace("\\", "/").rsplit("/", 1)[-1]
    lines = [
        (i, line) for i, line in enumerate(text.splitlines()) if line.strip().lower().startswith(".include")
    ]
    for i, line in lines:
        if name in line:
            return i
    return lines[0][0] if lines else 0


def _declarations(text: str, path: str) -> tuple[dict[str, Definition], list[str]]:
    """Every declared name in the file and its includes (macros not expanded)."""
    errors, sources = Collector(), Sources()
    sources.texts[path] = text
    statements = splice_includes(parse_text(text, path, errors), path, errors, sources)
    found: dict[str, Definition] = {}
    macros = []

    def add(name: str, kind: str, span: Span) -> None:
        if name not in found and span is not None:
            lines = sources.texts.get(span.file, "").splitlines()
            line_text = lines[span.line - 1].strip() if 0 < span.line <= len(lines) else ""
            found[name] = Definition(name, kind, span, line_text)

    for stmt in statements:
        if isinstance(stmt, ast.Label):
            add(stmt.name, "label", stmt.span)
        elif isinstance(stmt, ast.Directive) and stmt.items:
            first = stmt.items[0]
            if stmt.name in ("const", "aat") and first.key:
                add(first.key, stmt.name, first.span)
            elif stmt.name in ("macro", "data", *DEVICE_KINDS) and isinstance(first.value, ast.Name):
                add(first.value.id, stmt.name, first.value.span)
                if stmt.name == "macro":
                    macros.append(first.value.id)
    return found, macros


def word_at(line: str, character: int) -> tuple[str, int, int] | None:
    """The word (a name, mnemonic or .directive) under 0-based character, with its range."""
    for match in WORD.finditer(line):
        if match.start() <= character <= match.end():
            return match.group(), match.start(), match.end()
    return None


def instruction_markdown(ins: isa.Instruction) -> str:
    """An instruction's row of the table, as hover text."""
    operands = ", ".join(f"[{o.name}]" if o.optional else o.name for o in ins.source_operands)
    kinds = "\n".join(
        f"- `{o.name}`: {o.kind}{' (optional)' if o.optional else ''}" for o in ins.source_operands
    )
    text = f"**{ins.mnemonic}** {operands}\n\n{ins.summary} ({ins.group})"
    if kinds:
        text += "\n\n" + kinds
    if ins.example:
        text += f"\n\nExample: `{ins.example}`"
    return text


def hover_text(analysis: Analysis, word: str) -> str | None:
    """Hover text for word: an instruction, a directive, a register or a declared name."""
    ins = isa.lookup(word)
    if ins is not None:
        return instruction_markdown(ins)
    if word.startswith(".") and word[1:].lower() in DIRECTIVES:
        if word[1:].lower() == "core":
            keys = ", ".join(k.key for k in _config.CORE_KEYS)
            return f"**.core**: the core's configuration; keys: {keys}"
        return f"**{word}**: directive (docs/language.md)"
    if re.fullmatch(r"r\d+", word) and int(word[1:]) < isa.N_REGISTERS:
        return f"register **{word}**"
    found = analysis.definitions.get(word)
    if found is None:
        return None
    text = f"**{word}**: {found.kind}, declared at {found.span}\n\n`{found.line_text}`"
    p = analysis.program
    if p is not None:
        if found.kind == "const" and word in p.consts:
            text += f"\n\n= {p.consts[word]:.6g}"
        elif found.kind == "label" and word in p.labels:
            text += f"\n\npc {p.labels[word]}"
    return text


def definition_of(analysis: Analysis, word: str) -> Definition | None:
    return analysis.definitions.get(word)


def completions(analysis: Analysis | None, program: Program | None, before_cursor: str) -> list[Suggestion]:
    """The REPL's completion for a file line: program is the last one that assembled."""
    macros = analysis.macros if analysis is not None else []
    return complete_source(program, macros, before_cursor)


# ---------------------------------------------------------------------- the server
def build_server():
    """The pygls LanguageServer with ktasm's features registered."""
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.uris import from_fs_path, to_fs_path

    server = LanguageServer("ktasm", __version__)
    analyses: dict[str, Analysis] = {}
    last_good: dict[str, Program] = {}

    def refresh(uri: str) -> Analysis:
        doc = server.workspace.get_text_document(uri)
        path = to_fs_path(uri) or uri
        analysis = analyze(doc.source, path)
        analyses[uri] = analysis
        if analysis.program is not None:
            last_good[uri] = analysis.program
        diagnostics = [
            types.Diagnostic(
                range=types.Range(types.Position(line, col), types.Position(line, end)),
                message=message,
                severity=types.DiagnosticSeverity.Error,
                source="ktasm",
            )
            for line, col, end, message in analysis.problems
        ]
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version)
        )
        return analysis

    def current(uri: str) -> Analysis:
        return analyses.get(uri) or refresh(uri)

    def word_under(uri: str, position) -> str | None:
        doc = server.workspace.get_text_document(uri)
        lines = doc.lines
        if position.line >= len(lines):
            return None
        found = word_at(lines[position.line].rstrip("\r\n"), position.character)
        return found[0] if found else None

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls, params: types.DidOpenTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls, params: types.DidChangeTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls, params: types.DidSaveTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls, params: types.DidCloseTextDocumentParams) -> None:
        analyses.pop(params.text_document.uri, None)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", " ", ","])
    )
    def completion(ls, params: types.CompletionParams) -> types.CompletionList:
        uri, pos = params.text_document.uri, params.position
        doc = server.workspace.get_text_document(uri)
        line = doc.lines[pos.line] if pos.line < len(doc.lines) else ""
        before = line[: pos.character]
        items = []
        for s in completions(current(uri), last_good.get(uri), before):
            start = types.Position(pos.line, pos.character - s.replace)
            items.append(
                types.CompletionItem(
                    label=s.text,
                    detail=s.meta or None,
                    text_edit=types.TextEdit(types.Range(start, pos), s.text),
                )
            )
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls, params: types.HoverParams) -> types.Hover | None:
        word = word_under(params.text_document.uri, params.position)
        text = hover_text(current(params.text_document.uri), word) if word else None
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls, params: types.DefinitionParams) -> types.Location | None:
        word = word_under(params.text_document.uri, params.position)
        found = definition_of(current(params.text_document.uri), word) if word else None
        if found is None:
            return None
        span = found.span
        end = span.col - 1 + len(found.name)  # the name, not the whole declaration
        start = types.Position(span.line - 1, span.col - 1)
        target = params.text_document.uri
        if span.file != (to_fs_path(target) or target):
            target = from_fs_path(span.file) or span.file
        return types.Location(uri=target, range=types.Range(start, types.Position(span.line - 1, end)))

    return server


def main() -> None:
    """Serve over stdin/stdout until the client says exit."""
    build_server().start_io()
