"""Source files -> one flat statement list: ``.include`` files spliced in, macros expanded.

Include search: the including file's directory, then each directory on ``KTASM_PATH``,
then the standard library (``stdlib/``; a leading ``stdlib/`` in the path is optional).
A file is included once however often it is named, so include cycles end by themselves.

Macros::

    .macro TEACH lane, x        ; parameters are plain names
        FF r0, lane, x
        RH lane, x
    .endm
    TEACH L1, sample            ; a call: the arguments replace the parameters

Labels defined inside a macro body are local to each expansion. Conditional assembly
(``.if``, ``ktasm.conditional``) is resolved as the includes are spliced, and again in
each macro expansion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ktasm import ast
from ktasm import conditional as _conditional
from ktasm.errors import Collector, Span
from ktasm.parser import Compact, materialize, operand_texts, parse_text
from vm import isa

MAX_MACRO_DEPTH = 32
MAX_EXPANSIONS = 100_000  # macro calls per program: a macro calling itself twice doubles per level
# statements macros may expand to (a 200-line body called 100,000 times was 2e7
# instructions and GBs of AST); KTASM_MAX_STATEMENTS raises it
DEFAULT_MAX_STATEMENTS = 200_000  # ~5 s to assemble on a small machine


def max_statements() -> int:
    text = os.environ.get("KTASM_MAX_STATEMENTS", "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_STATEMENTS


def stdlib_dir() -> Path:
    """The stdlib/ directory of .kta include files: installed as ktasm/stdlib, or the
    top-level stdlib/ of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "stdlib"
    return installed if installed.is_dir() else here.parent / "stdlib"


@dataclass
class Sources:
    """Every file read for one program: name -> text, in the order read."""

    texts: dict[str, str] = field(default_factory=dict)
    included: set[str] = field(default_factory=set)


@dataclass
class _Macro:
    name: str
    params: tuple[str, ...]
    body: list
    span: Span
    labels: list[str] = field(default_factory=list)  # the body's labels (local to each call)
    plain: list = field(default_factory=list)  # per body statement: operand_texts, or None


def load(
    text: str,
    file: str,
    errors: Collector,
    sources: Sources | None = None,
    defines: dict | None = None,
    *,
    compact: bool = False,
) -> tuple[list, Sources]:
    """Parse text (named file), splice includes, resolve .if blocks (defines: the -D
    constants) and expand macros. compact: the common instruction lines stay
    ``ktasm.parser.Compact`` tuples (for ``assemble_statements``; see ``parse_text``)."""
    sources = sources if sources is not None else Sources()
    sources.texts[file] = text
    if os.path.isfile(file):
        sources.included.add(os.path.realpath(file))
    statements = splice_includes(
        parse_text(text, file, errors, compact=compact),
        file,
        errors,
        sources,
        defines=defines,
        compact=compact,
    )
    return expand_macros(statements, errors, defines), sources


def expand_macros(statements: list, errors: Collector, defines: dict | None = None) -> list:
    """Macro definitions taken out, every call replaced by its body, and the .if blocks
    the bodies brought resolved."""
    macros, statements = _collect_macros(statements, errors)
    state = {"calls": 0, "stopped": False, "size": len(statements), "limit": max_statements()}
    state["conditional"] = False  # whether an .if, .elif, .else or .endif came out
    expanded = _expand(statements, macros, errors, depth=0, state=state)
    if state["size"] > state["limit"]:
        return []  # the error is reported; nothing to assemble
    if state["conditional"]:
        expanded = _conditional.resolve(expanded, errors, _conditional.Constants(defines))
    return expanded


MAX_INCLUDE_DEPTH = 64


def splice_includes(
    statements: list,
    file: str,
    errors: Collector,
    sources: Sources,
    depth: int = 0,
    defines: dict | None = None,
    constants: _conditional.Constants | None = None,
    compact: bool = False,
) -> list:
    """Each .include replaced by the included file's statements (relative to file's
    directory, or the working directory for a file that is not on disk), and the .if
    blocks outside macro bodies resolved (defines: the -D constants; compact as in load)."""
    constants = constants if constants is not None else _conditional.Constants(defines)

    def include(stmt: ast.Directive) -> list:
        return _include(stmt, file, errors, sources, depth, constants, compact)

    return _conditional.resolve(statements, errors, constants, include)


def _include(
    stmt: ast.Directive, file: str, errors: Collector, sources: Sources, depth: int, constants, compact: bool
) -> list:
    """The statements an .include brings in (none after reporting a problem)."""
    if len(stmt.items) != 1 or stmt.items[0].key or not isinstance(stmt.items[0].value, ast.String):
        errors.error(stmt.span, '.include expects one quoted path: .include "file.kta"')
        return []
    wanted = stmt.items[0].value.value
    path = _find_include(wanted, file)
    if path is None:
        errors.error(
            stmt.items[0].span,
            f"cannot find include file {wanted!r}",
            "searched: the including file's directory, KTASM_PATH, the stdlib",
        )
        return []
    real = os.path.realpath(path)
    if real in sources.included:
        return []
    if depth >= MAX_INCLUDE_DEPTH:
        errors.error(stmt.items[0].span, f"includes nested more than {MAX_INCLUDE_DEPTH} files deep")
        return []
    sources.included.add(real)
    try:
        text = _read_source(path)
    except ValueError as exc:
        errors.error(stmt.items[0].span, f"cannot read include file {wanted!r}: {exc}")
        return []
    sources.texts[str(path)] = text
    statements = parse_text(text, str(path), errors, compact=compact)
    return splice_includes(
        statements, str(path), errors, sources, depth + 1, constants=constants, compact=compact
    )


def _read_source(path: Path) -> str:
    """An included file's text (ValueError: too big, unreadable, not UTF-8 and where)."""
    from vm.archive import max_program_bytes, read_bytes

    blob = read_bytes(path, "include file", max_program_bytes())
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = blob.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"line {line}: not UTF-8 text") from None


def _find_include(wanted: str, including: str) -> Path | None:
    here = Path(including).parent if os.path.isfile(including) else Path.cwd()
    search = [here] + [Path(p) for p in os.environ.get("KTASM_PATH", "").split(os.pathsep) if p]
    for base in search:
        if (base / wanted).is_file():
            return base / wanted
    std = stdlib_dir()
    for candidate in (std / wanted, std / wanted.removeprefix("stdlib/")):
        if candidate.is_file():
            return candidate
    return None


def _collect_macros(statements: list, errors: Collector) -> tuple[dict[str, _Macro], list]:
    macros: dict[str, _Macro] = {}
    out: list = []
    current: _Macro | None = None
    for stmt in statements:
        if type(stmt) is tuple:  # a compact instruction line: no directive
            if current is None:
                out.append(stmt)
            else:  # a body is substituted into at each call: nodes, not compact lines
                current.body.append(materialize(stmt))
            continue
        if isinstance(stmt, ast.Directive) and stmt.name == "macro":
            if current is not None:
                errors.error(
                    stmt.span,
                    f".macro inside the body of macro {current.name!r}",
                    f"{current.name!r} starts at {current.span}; close it with .endm",
                )
                continue
            current = _macro_header(stmt, errors)
            if current is not None and current.name in macros:
                errors.error(
                    stmt.span,
                    f"macro {current.name!r} is already defined",
                    f"first defined at {macros[current.name].span}",
                )
            continue
        if isinstance(stmt, ast.Directive) and stmt.name == "endm":
            if current is None:
                errors.error(stmt.span, ".endm without a .macro")
            else:
                current.labels = [s.name for s in current.body if isinstance(s, ast.Label)]
                current.plain = [
                    operand_texts(s) if isinstance(s, ast.Instruction) else None for s in current.body
                ]
                macros.setdefault(current.name, current)
                current = None
            continue
        (current.body if current is not None else out).append(stmt)
    if current is not None:
        errors.error(current.span, f"macro {current.name!r} has no .endm")
    return macros, out


def _macro_header(stmt: ast.Directive, errors: Collector) -> _Macro:
    names = []
    for item in stmt.items:
        if item.key is not None or not isinstance(item.value, ast.Name) or "." in item.value.id:
            errors.error(item.span, ".macro expects a name and then parameter names: .macro NAME p1, p2")
            return _Macro("?", (), [], stmt.span)
        names.append(item.value.id)
    if not names:
        errors.error(stmt.span, ".macro expects a name: .macro NAME p1, p2")
        return _Macro("?", (), [], stmt.span)
    if isa.lookup(names[0]) is not None:
        errors.error(stmt.items[0].span, f"macro name {names[0]!r} is an instruction")
    if len(set(names[1:])) != len(names) - 1:
        errors.error(stmt.span, f"macro {names[0]!r} repeats a parameter name")
    return _Macro(names[0], tuple(names[1:]), [], stmt.span)


def _expand(statements: list, macros: dict, errors: Collector, depth: int, state: dict) -> list:
    """Expand macro calls, depth first. After the first runaway (too deep, too many
    calls) is reported, further calls are dropped so it is reported once."""
    out = []
    for stmt in statements:
        compact = type(stmt) is tuple  # a compact instruction line (ktasm.parser.Compact)
        if compact:
            macro = macros.get(stmt[0])
        else:
            macro = macros.get(stmt.mnemonic) if isinstance(stmt, ast.Instruction) else None
        if macro is None:
            out.append(stmt)
            if not compact and isinstance(stmt, ast.Directive) and stmt.name in _conditional.DIRECTIVES:
                state["conditional"] = True
            continue
        if state["stopped"]:
            continue
        n_args = len(stmt[1]) if compact else len(stmt.operands)
        if depth >= MAX_MACRO_DEPTH:
            errors.error(
                _node(stmt).span,
                f"macro {macro.name!r} expands more than {MAX_MACRO_DEPTH} "
                "levels deep (does it call itself?)",
            )
            state["stopped"] = True
            continue
        if n_args != len(macro.params):
            errors.error(
                _node(stmt).span,
                f"macro {macro.name} expects {len(macro.params)} arguments "
                f"({', '.join(macro.params) or 'none'}), got {n_args}",
            )
            continue
        state["calls"] += 1
        if state["calls"] > MAX_EXPANSIONS:
            errors.error(_node(stmt).span, f"more than {MAX_EXPANSIONS} macro expansions")
            state["stopped"] = True
            continue
        state["size"] += len(macro.body)
        if state["size"] > state["limit"] and not state["stopped"]:
            errors.error(
                _node(stmt).span,
                f"macros expand this program to more than {state['limit']} statements",
                "raise the limit with --max-statements N or KTASM_MAX_STATEMENTS=N",
            )
            state["stopped"] = True
            continue
        calls = state["calls"]
        body = _compact_expansion(macro, stmt, calls) if compact else _expansion(macro, stmt, calls)
        out.extend(_expand(body, macros, errors, depth + 1, state))
    return out


def _expansion(macro: _Macro, call: ast.Instruction, calls: int) -> list:
    """macro's body for a call (the calls-th expansion): the arguments in place of the
    parameters, its labels made local, every statement noting where it was called."""
    mapping = dict(zip(macro.params, call.operands, strict=True))
    for inner in macro.body:  # labels are local to this expansion
        if isinstance(inner, ast.Label):
            mapping[inner.name] = ast.Name(f"{inner.name}@{macro.name}{calls}", inner.span)
    note = f"in macro {macro.name!r} called at {call.span}"
    return [ast.with_origin(ast.substitute(s, mapping), note) for s in macro.body]


def _compact_expansion(macro: _Macro, call: Compact, calls: int) -> list:
    """_expansion for a compact call, without making its nodes: each body instruction whose
    operands are all names and numbers a compact line with the argument texts put in (its
    node made by _expansion if it is needed: ktasm.parser.materialize), each label renamed,
    the rest _expansion's nodes."""
    texts = dict(zip(macro.params, call[1], strict=True))
    texts.update((label, f"{label}@{macro.name}{calls}") for label in macro.labels)
    body: list = []
    nodes = None
    for index, (stmt, plain) in enumerate(zip(macro.body, macro.plain, strict=True)):
        if plain is not None:
            span = stmt.span
            made = (_body_node, macro, call, calls, index)
            body.append((stmt.mnemonic, tuple([texts.get(t, t) for t in plain]), *_where(span), made))
        elif isinstance(stmt, ast.Label):  # as ast.substitute renames it
            body.append(ast.quick_label(texts[stmt.name], stmt.span))
        else:
            nodes = nodes if nodes is not None else _expansion(macro, materialize(call), calls)
            body.append(nodes[index])
    return body


def _where(span: Span) -> tuple[str, int, int]:
    return span.file, span.line, span.col


def _body_node(macro: _Macro, call: Compact, calls: int, index: int) -> ast.Instruction:
    return _expansion(macro, materialize(call), calls)[index]


def _node(stmt) -> ast.Instruction:
    return materialize(stmt) if type(stmt) is tuple else stmt
