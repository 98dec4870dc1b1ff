"""Each program's loop compiles only the device families its code uses (vm.interp)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vm import interp, isa
from vm.ktram import models

FLAG_OF_GROUP = {
    "vector": "vectors",
    "p-bit": "pbits",
    "MTJ": "mtjs",
    "pairs": "pairs",
    "Langevin": "langevin",
}


def _code(*opcodes: int) -> np.ndarray:
    code = np.zeros((len(opcodes), isa.CODE_WIDTH), dtype=np.int64)
    code[:, 0] = opcodes
    return code


def test_every_device_row_turns_on_its_own_family_and_no_other():
    assert set(FLAG_OF_GROUP) == set(isa.DEVICE_FAMILIES)
    ideal = np.zeros(models.N_PARAMS)
    for row in isa.INSTRUCTIONS:
        families = interp.families_of(_code(isa.OPCODES["MOV"], row.opcode), ideal)
        on = {name for name, flag in families._asdict().items() if flag}
        if row.mnemonic == "COIN":  # a read of the kT-RAM core, run by the loop itself
            assert on == set()
        elif row.group in FLAG_OF_GROUP:
            assert on == {FLAG_OF_GROUP[row.group]}, row.mnemonic
        elif row.mnemonic == "AGE":
            assert on == {"ageing"}
        else:
            assert on == set(), row.mnemonic


def test_a_core_with_non_idealities_turns_on_the_non_ideal_kernel():
    params = np.zeros(models.N_PARAMS)
    params[models.P_NONIDEAL] = 1.0
    families = interp.families_of(_code(isa.OPCODES["FF"]), params)
    assert families == interp.Families(False, False, False, False, False, False, False)._replace(
        nonideal=True
    )
    assert interp.families_of(_code(), params).nonideal  # an empty program on such a core too


def test_variants_are_made_once_and_the_full_one_is_run():
    kt_only = interp.Families(*([False] * len(interp.Families._fields)))
    assert interp.loop_for(kt_only) is interp.loop_for(kt_only)
    assert interp.loop_for(kt_only) is not interp.run
    assert interp.loop_for(interp.ALL) is interp.run


@pytest.mark.slow
def test_a_kt_ram_program_compiles_no_device_kernel(tmp_path):
    """From a cold cache, a kT-RAM-only run on an ideal core (SETY, a fused read, COIN, GAB)
    compiles (and caches) the ideal kT-RAM kernels and none of the MTJ, p-bit, pairs,
    Langevin or vector functions, nor the non-ideal device code."""
    program = tmp_path / "kt.kta"
    program.write_text(
        ".core cols=2 seed=3\n.aat z = 0\n    SETY L0, z, 0.2, 0.5\n    FF.RH r0, L0, z\n"
        "    COIN r1, L0, z\n    GAB r2, r3, L0, z\n    OUT r0\n"
    )
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-m", "ktasm", "run", str(program)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    compiled = {p.name.split("-")[0] for p in Path(cache).rglob("*.nbi")}
    assert "kernels.execute_ideal_at" in compiled and any("make_loop" in name for name in compiled)
    device_modules = ("execute.", "mtj.", "pbit.", "langevin.")
    assert not [name for name in compiled if name.startswith(device_modules)], sorted(compiled)
    non_ideal = {"kernels.execute_nonideal", "kernels.set_device_nonideal", "kernels.device_now"}
    assert not compiled & non_ideal, sorted(compiled & non_ideal)
