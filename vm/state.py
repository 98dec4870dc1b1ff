"""The VM's state: three named bundles of arrays, passed whole across the boundary into
compiled code (``vm.interp.run``, ``vm.ktram.kernels.execute_stream``).

Numba compiles a ``NamedTuple`` of arrays into a struct and caches functions that take one.
Inside compiled code a bundle is unpacked once, at the top of a loop, and the per-instruction
kernels take arrays: every array read out of a tuple takes a reference (an atomic count),
and a bundle handed to a compiled callee is copied and counted whole. Measured on this
machine: a 1-space kT-RAM stream 1.7x slower with the bundle passed per instruction, a
4-element VADDS through the device dispatcher 330 ns against 6 ns.

The owners keep the arrays (``vm.ktram.core.Core``, ``vm.machine.Machine``) and build a
bundle for each call: a bundle is a view, never a copy. Importing this module does not
import Numba.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CoreState(NamedTuple):
    """A kT-RAM core: its device model, constants and everything that defines its future."""

    model: int  # vm.ktram.models: FLOAT, BYTE, RS, MSS
    params: np.ndarray  # float64[N_PARAMS]: constants, slots named in vm.ktram.models
    ops: np.ndarray  # int64[14, 5]: vm.ktram.isa.OP_TABLE
    g: np.ndarray  # float64[2, lanes, spaces, addresses]: conductances, side 0 = a, 1 = b
    x: np.ndarray  # float64[2, lanes, spaces, addresses]: MSS switched fraction
    lane_y: np.ndarray  # float64[lanes]: each lane's retained y
    meters: np.ndarray  # float64[2]: modeled time (s), modeled energy (J)
    rng_state: np.ndarray  # uint64[4]: the machine's random stream (vm.rng), shared by devices
    rng_spare: np.ndarray  # float64[2]: the polar method's spare normal
    # float64[rows, 2, lanes, spaces, addresses]: each device's non-ideal state (d2d range
    # and step, stuck mark, switching events, drift exponent, last write and its value),
    # one row per name of vm.ktram.nonideal.NonIdeal.rows(); no rows on an ideal core
    per_device: np.ndarray


class ProgramState(NamedTuple):
    """A program in execution: its code, value file, AATs, data, outputs and status."""

    code: np.ndarray  # int64[n, CODE_WIDTH]: opcode and operand fields (vm.isa)
    vals: np.ndarray  # float64[n_values]: registers r0..r15, loop counters, constant pool
    aats: np.ndarray  # int64[n_aat, spaces]: the AAT table (LDAAT rewrites rows)
    data: np.ndarray  # float64[total]: every data table, flat
    data_meta: np.ndarray  # int64[n_data, 3]: DATA_OFFSET, DATA_ROWS, DATA_COLS
    outputs: np.ndarray  # float64[capacity]: OUT values (a full buffer stops with OUT_FULL)
    output_tags: np.ndarray  # int32[capacity]: each output's name (Program.output_names), -1 none
    status: np.ndarray  # int64[N_STATUS]: the ST_* slots below
    fault_value: np.ndarray  # float64[1]: the value a fault reports (vm.faults)
    breaks: np.ndarray  # uint8[n]: 1 at a breakpoint
    calls: np.ndarray  # int64[CALL_DEPTH]: return pcs, status[ST_DEPTH] of them in use


class DeviceState(NamedTuple):
    """The declared devices beside kT-RAM and the vector arena they live in (vm.devices)."""

    vec: np.ndarray  # float64[total]: the vector arena
    vec_meta: np.ndarray  # int64[slots, 2]: (offset, length) of each slot
    dev_meta: np.ndarray  # int64[n, 4]: kind, then slot numbers (vm.codes: SLOT_*)
    dev_params: np.ndarray  # float64[n, N_PARAMS]: each declaration's keys in table order
    meters: np.ndarray  # float64[N_METERS, 2]: per family (time s, energy J)


# status slots. ST_STOP is a request to stop, written from outside while the loop runs
# (vm.watchdog: a deadline or a signal); the loop and long kernels poll it and return at a
# point they resume from. ST_PARTIAL is how far the instruction at pc got when a long one
# (a RELAX window) was stopped inside: 0 when none is under way. ST_DEPTH is how many
# return pcs the call stack holds.
ST_PC, ST_STEPS, ST_OUTPUTS, ST_REASON, ST_FAULT, ST_STOP, ST_PARTIAL, ST_DEPTH = range(8)
N_STATUS = 8

# the call stack's capacity: CALL deeper than this is a runtime fault
CALL_DEPTH = 256

# stop reasons (status[ST_REASON] and the loop's return value)
BUDGET, HALTED, ENDED, OUT_FULL, FAULTED, BREAK = range(6)

# data_meta columns
DATA_OFFSET, DATA_ROWS, DATA_COLS = range(3)
