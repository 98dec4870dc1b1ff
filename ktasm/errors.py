"""Diagnostics that point at the source: ``file:line:col: error: message``, the line, a caret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """Where a node came from: 1-based line and column, end column exclusive on that line."""

    file: str
    line: int
    col: int
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_new = object.__new__


def span_at(file: str, line: int, col: int, end_col: int | None) -> Span:
    """Span(file, line, col, end_col), made without the frozen dataclass's __init__ (a
    guarded setattr per field, 2.3x the cost): the parser's fast path makes several a line."""
    span = _new(Span)
    fields = span.__dict__
    fields["file"] = file
    fields["line"] = line
    fields["col"] = col
    fields["end_col"] = end_col
    return span


@dataclass(frozen=True)
class Diagnostic:
    """One problem at a span: the message, notes (hints) and a severity ("error",
    "runtime error"); ``format`` renders it as the CLI, REPL and magics show it."""

    span: Span
    message: str
    notes: tuple[str, ...] = ()
    severity: str = "error"

    def format(self, source_line: str | None = None) -> str:
        """The diagnostic as text: ``file:line:col: severity: message``, then the source line with a caret
        under the span (when given), then the notes."""
        out = [f"{self.span}: {self.severity}: {self.message}"]
        if source_line is not None:
            line = source_line.rstrip("\n").expandtabs(1)
            width = 1
            if self.span.end_col is not None and self.span.end_col > self.span.col:
                width = self.span.end_col - self.span.col
            out.append(f"    {line}")
            out.append("    " + " " * (self.span.col - 1) + "^" + "~" * (width - 1))
        out.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(out)


class KtasmError(Exception):
    """One or more diagnostics about a program (exit status 65)."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.col))
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        """Every diagnostic formatted with its source line (from ``sources``), and a count when there are
        several."""
        parts = []
        split: dict[str, list[str]] = {}  # each file split once: 20,000 errors took 20 s
        for d in self.diagnostics:
            text = self.sources.get(d.span.file)
            line = None
            if text is not None:
                if d.span.file not in split:
                    # lines end at "\n" only, as the parser counts them (splitlines() also
                    # breaks at form feeds and other separators, shifting the quoted line)
                    split[d.span.file] = text.split("\n")
                lines = split[d.span.file]
                if 0 < d.span.line <= len(lines):
                    line = lines[d.span.line - 1].rstrip("\r")
            parts.append(d.format(line))
        n = len(self.diagnostics)
        if n > 1:
            parts.append(f"{n} errors")
        return "\n".join(parts)


@dataclass
class Collector:
    """Gathers diagnostics so a stage can report every problem, not just the first."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str, *notes: str) -> None:
        self.diagnostics.append(Diagnostic(span, message, tuple(notes)))

    def __bool__(self) -> bool:
        return bool(self.diagnostics)


def runtime_error_text(program, pc: int, message: str, operand: str | None = None) -> str:
    """A runtime fault at instruction pc of program, as file:line:col, the line and a caret
    under the operand that raised it (when named and found in the line), else the instruction."""
    path, line, col = program.location(pc)
    span = operand_span(program, pc, operand) if operand else None
    return Diagnostic(span or Span(path, line, col), message, severity="runtime error").format(
        program.source_line(pc)
    )


def operand_span(program, pc: int, operand: str) -> Span | None:
    """Where operand (its name in the instruction table) of instruction pc is written:
    its source line parsed again; None if it is not written there."""
    from ktasm import ast
    from ktasm.assembler import operands_written
    from ktasm.parser import parse_text
    from vm import isa

    path, line, col = program.location(pc)
    statements = parse_text(program.source_line(pc), path, Collector(), first_line=line)
    stmt = next((s for s in statements if isinstance(s, ast.Instruction) and s.span.col == col), None)
    if stmt is None:
        return None
    ins = isa.INSTRUCTIONS[int(program.code[pc, 0])]
    for spec, node in zip(operands_written(ins, list(stmt.operands)), stmt.operands, strict=False):
        if spec.name == operand:
            return node.span
    return None
