"""docs/api.md, generated from the public API's docstrings.

``python -m ktasm.apidoc > docs/api.md``; a test fails when the file is stale, and another
when a public name of ``API`` has no docstring (what ``help()`` shows is what is written here).
"""

from __future__ import annotations

import importlib
import inspect
import sys

# (module, names): the public API, in the order a reader meets it
API: list[tuple[str, list[str]]] = [
    ("ktasm.assembler", ["assemble_text", "assemble_file", "assemble_statements"]),
    ("ktasm.errors", ["KtasmError", "Diagnostic", "Span"]),
    ("vm.bytecode", ["Program", "BytecodeError"]),
    (
        "vm.machine",
        [
            "Machine",
            "RunResult",
            "group_outputs",
            "RuntimeFault",
            "CheckpointError",
            "DataError",
            "MissingData",
        ],
    ),
    ("vm.ktram.core", ["Core"]),
    ("vm.ktram.views", ["Lane"]),
    ("ktasm.sweep", ["sweep", "map_tasks", "grid", "row_key", "SweepError", "summarize"]),
    ("ktasm.repl.engine", ["Session"]),
    ("ktasm.ipython", ["load_ipython_extension", "run_cell", "run_line"]),
    ("ktasm.lsp", ["analyze", "build_server"]),
]


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def members(cls) -> list[tuple[str, object]]:
    """A class's public methods and properties defined on it or a project base class."""
    out: list[tuple[str, object]] = []
    for klass in cls.__mro__:
        if klass is object or not klass.__module__.startswith(("ktasm", "vm")):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in {n for n, _ in out}:
                continue
            if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
                out.append((name, value))
    return sorted(out)


def undocumented() -> list[str]:
    """Public names (and their methods) of API without a docstring."""
    missing = []
    for module_name, names in API:
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            doc = (obj.__doc__ or "").strip()
            if not doc or doc.startswith(f"{name}("):  # a dataclass's generated signature is no docstring
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                for member, value in members(obj):
                    target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                    if not (getattr(target, "__doc__", None) or "").strip():
                        missing.append(f"{module_name}.{name}.{member}")
    return missing


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def render() -> str:
    out = [
        "# API reference",
        "",
        "Generated from the docstrings by `python -m ktasm.apidoc > docs/api.md`; do not edit.",
        "",
    ]
    for module_name, names in API:
        module = importlib.import_module(module_name)
        out += [f"## `{module_name}`", ""]
        for name in names:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                bases = [b.__name__ for b in obj.__bases__ if b is not object]
                out += [f"### class `{name}`" + (f"({', '.join(bases)})" if bases else ""), ""]
                out += [_doc(obj), ""]
                for member, value in members(obj):
                    if isinstance(value, property):
                        out += [f"- **`{member}`** (property): {_doc(value.fget)}"]
                    else:
                        func = getattr(value, "__func__", value)
                        text = _doc(func).replace("\n", "\n  ")
                        out += [f"- **`{member}{_signature(func)}`**: {text}"]
                out.append("")
            else:
                out += [f"### `{name}{_signature(obj)}`", "", _doc(obj), ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
