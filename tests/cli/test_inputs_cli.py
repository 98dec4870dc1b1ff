"""Programs and data from pipes and special files, bounded file sizes (issue 15, classes 3-5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PROGRAM = "    MOV r0, 2\n    OUT r0\n"


def _ktasm(*args, stdin=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ktasm", *args],
        input=stdin,
        capture_output=True,
        text=isinstance(stdin, str) or stdin is None,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_a_program_piped_on_stdin_runs(name):
    proc = _ktasm("run", name, stdin=PROGRAM)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2.0"]


def test_a_data_table_piped_on_stdin_keeps_every_row(tmp_path):
    program = tmp_path / "p.kta"
    program.write_text(".data t\n    ROWS r0, t\n    OUT r0\n")
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(3000))  # ~25 KB: the first 8 KB were lost
    proc = _ktasm("run", str(program), "--data", "t=/dev/stdin", stdin=rows)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3000.0"]


def test_special_and_oversized_files_are_clear_errors(tmp_path):
    env = {"KTASM_MAX_FILE_BYTES": "160000"}
    proc = _ktasm("run", "/dev/zero", env=env)
    assert proc.returncode == 65 and "more than the limit" in proc.stderr and "internal" not in proc.stderr
    program = tmp_path / "p.kta"
    program.write_text(".data t\n    ROWS r0, t\n    OUT r0\n")
    for data in ("/dev/zero", str(tmp_path)):
        proc = _ktasm("run", str(program), "--data", f"t={data}", env=env)
        assert proc.returncode == 65, proc.stderr
        assert "internal" not in proc.stderr and "Traceback" not in proc.stderr
    np.save(tmp_path / "big.npy", np.zeros(30_000))
    proc = _ktasm("run", str(program), "--data", f"t={tmp_path / 'big.npy'}", env=env)
    assert proc.returncode == 65 and "KTASM_MAX_FILE_BYTES" in proc.stderr


def test_a_npy_whose_header_claims_more_than_the_file_holds_is_refused(tmp_path):
    path = tmp_path / "liar.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 1000)}
        )
        fh.write(b"\0" * 64)
    program = tmp_path / "p.kta"
    program.write_text(".data t\n    ROWS r0, t\n    OUT r0\n")
    proc = _ktasm("run", str(program), "--data", f"t={path}")
    assert proc.returncode == 65 and "header describes" in proc.stderr


def test_csv_header_rows_are_skipped_and_an_empty_csv_is_a_plain_error(tmp_path):
    program = tmp_path / "p.kta"
    program.write_text(".data t\n    ROWS r0, t\n    OUT r0\n")
    (tmp_path / "h.csv").write_text("x,y\n1,2\n3,4\n")
    proc = _ktasm("run", "--json", str(program), "--data", f"t={tmp_path / 'h.csv'}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == [2.0]
    (tmp_path / "e.csv").write_text("")
    proc = _ktasm("run", str(program), "--data", f"t={tmp_path / 'e.csv'}")
    assert proc.returncode == 65 and "is empty" in proc.stderr
    assert "Warning" not in proc.stderr and "site-packages" not in proc.stderr


def test_repl_file_that_is_not_utf8_or_lacks_data_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.kta"
    bad.write_bytes(b"    NOP ; \xff\n")
    proc = _ktasm("repl", str(bad), "-e", ".state")
    assert proc.returncode == 65 and "bad.kta:1:11: error: not UTF-8" in proc.stderr
    needs = tmp_path / "needs.kta"
    needs.write_text(".data t\n    ROWS r0, t\n")
    proc = _ktasm("repl", str(needs), "-e", ".state")
    assert proc.returncode == 65 and "needs data 't'" in proc.stderr and "internal" not in proc.stderr


def test_crafted_bytecode_is_exit_65_not_an_internal_error(tmp_path):
    good = tmp_path / "p.kta"
    good.write_text(PROGRAM)
    assert _ktasm("asm", str(good)).returncode == 0
    blob = (tmp_path / "p.ktb").read_bytes()
    (tmp_path / "cut.ktb").write_bytes(blob[:-3])
    proc = _ktasm("run", str(tmp_path / "cut.ktb"))
    assert proc.returncode == 65 and "internal" not in proc.stderr


def test_programs_run_checks_out_and_plot_paths_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = _ktasm("programs", "run", "bandit", "--quick", "--out", str(blocker / "sub"))
    assert proc.returncode == 73 and "--out" in proc.stderr and "==" not in proc.stdout
    proc = _ktasm("programs", "run", "bandit", "--quick", "--out", str(blocker))
    assert proc.returncode == 64 and "is a file" in proc.stderr


def test_the_disassembler_shows_vector_and_device_operands_and_declarations(tmp_path):
    program = tmp_path / "d.kta"
    program.write_text(
        ".bank h n=8 dt=0.01 tf=1 j2=-4\n.vec cur n=8\n.mtj coins n=4 mode=toggle\n"
        "    VFILL cur, 0.5\n    RELAX h, cur\n    VOUT h\n    MPULSE coins, 1.5, 1e-9\n"
    )
    proc = _ktasm("dis", str(program))
    assert proc.returncode == 0, proc.stderr
    listing = [line.split(";")[0].split() for line in proc.stdout.splitlines() if not line.startswith(";")]
    assert ["RELAX", "h,", "cur"] == listing[1][2:]
    assert ["VFILL", "cur,", "0.5"] == listing[0][2:]
    assert ["MPULSE", "coins,", "1.5,", "1e-09"] == listing[3][2:]
    assert "; .bank h n=8 j2=-4 dt=0.01 tf=1" in proc.stdout and "; .mtj coins n=4 mode=toggle" in proc.stdout


def test_seeds_above_2_53_do_not_collide(tmp_path):
    outputs = []
    for seed in (2**53, 2**53 + 1):
        program = tmp_path / f"s{seed}.kta"
        program.write_text(f".core seed={seed} read_noise=0.5\n.aat z = (0)\n    FF r0, L0, z\n    OUT r0\n")
        proc = _ktasm("run", str(program))
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] != outputs[1]


def test_a_closed_pipe_and_a_full_disk_are_reported_as_such(tmp_path):
    program = tmp_path / "many.kta"
    program.write_text("top:\n    OUT r0\n    ADD r0, r0, 1\n    JLT r0, 100000, top\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ktasm", "run", str(program)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"0.0\n"
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and b"Traceback" not in err
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [sys.executable, "-m", "ktasm", "run", str(program)],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
            )
        assert done.returncode == 74 and "cannot write the output: No space left" in done.stderr


def test_no_writable_numba_cache_falls_back_to_a_temporary_one():
    code = (
        "import os, vm.numba_cache as c\n"
        "c._writable = lambda d: False\n"
        "c.sys = type('S', (), {'modules': {}, 'stderr': c.sys.stderr})\n"
        "os.environ.pop('NUMBA_CACHE_DIR')\n"  # set by importing vm
        "c.ensure_location()\n"
        "print(os.environ['NUMBA_CACHE_DIR'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ktasm-numba-" in proc.stdout and "set NUMBA_CACHE_DIR" in proc.stderr


def _vm_cache_dir(env: dict, tree: str | None = None) -> str:
    code = "import os, vm\nprint(os.environ['NUMBA_CACHE_DIR'])\n"
    env = {**env, "PYTHONPATH": tree} if tree else env
    cwd = tree or os.getcwd()  # python -c puts the working directory first on the path
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_vm_cache_directory_is_named_by_its_sources(tmp_path):
    """A changed vm source (a callee in another module, vm/codes.py) gets its own cache
    directory: Numba alone would load the old machine code."""
    import vm
    import vm.numba_cache

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = _vm_cache_dir(env)
    assert first == str(tmp_path / "cache" / f"ktasm-{vm.numba_cache.source_digest()}")
    assert _vm_cache_dir({**env, "NUMBA_CACHE_DIR": first}) == first  # a child keeps its parent's
    tree = tmp_path / "tree"
    shutil.copytree(Path(vm.__file__).parent, tree / "vm", ignore=shutil.ignore_patterns("__pycache__"))
    assert _vm_cache_dir(env, str(tree)) == first  # the same sources elsewhere: the same cache
    with open(tree / "vm" / "rng.py", "a") as fh:
        fh.write("# edited\n")
    edited = _vm_cache_dir(env, str(tree))
    assert edited != first and edited.startswith(str(tmp_path / "cache"))
    home = {k: v for k, v in env.items() if k != "NUMBA_CACHE_DIR"} | {
        "XDG_CACHE_HOME": str(tmp_path / "xdg")
    }
    assert _vm_cache_dir(home) == str(tmp_path / "xdg" / "ktasm" / "numba" / os.path.basename(first))


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("NUMBA_CACHE_DIR"), reason="copies the warm cache named by NUMBA_CACHE_DIR"
)
def test_a_damaged_numba_cache_is_emptied_and_the_run_goes_on(tmp_path):
    cache = tmp_path / "cache"
    warm = Path(os.environ["NUMBA_CACHE_DIR"])  # this process's, vm's own directory in it
    if not warm.is_dir():
        pytest.skip("nothing compiled into the cache yet")
    shutil.copytree(warm, cache / warm.name)
    damaged = [p for p in cache.rglob("*.nbi") if "interp" in p.name]
    if not damaged:
        pytest.skip("no compiled interpreter in the cache yet")
    for p in damaged:
        p.write_text("garbage\n")
    program = tmp_path / "p.kta"
    program.write_text(PROGRAM)
    proc = _ktasm("run", str(program), env={"NUMBA_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert "cache was damaged" in proc.stderr and proc.stdout.split() == ["2.0"]


def test_an_unclosed_macro_at_the_end_of_repl_input_is_an_error():
    proc = _ktasm("repl", stdin=".macro T a\n    NOP\n")
    assert proc.returncode == 65 and ".macro without .endm" in proc.stderr and "<stdin>:1:1" in proc.stderr


def test_the_install_hint_names_the_checkout_extra():
    import ktasm.programs as library

    with pytest.raises(library.ProgramError, match=r"pip install -e '\.\[programs\]'"):
        library.require("no_such_module_for_ktasm", "the test")
