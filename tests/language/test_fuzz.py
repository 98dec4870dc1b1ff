"""Fuzzing: random text and mutated programs into the assembler, damaged bytecode into the
loader, what assembles into the VM. Every outcome is a result or a positioned error."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktasm.assembler import assemble_text
from ktasm.errors import KtasmError
from ktasm.fuzz import TOKENS, FuzzReport, check_one, fuzz

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them


def test_a_fixed_seed_round_of_mutations_finds_nothing():
    report = fuzz(iterations=1500, seed=1234)
    assert report.failures == [], report.failures[0]
    # the round exercised every stage
    assert report.assembled > 100 and report.rejected > 100 and report.ran > 100
    assert report.bytecode_rejected > 100
    # and the untrusted state and files: checkpoints, sessions, data, output paths
    assert report.checkpoints_refused > 100 and report.checkpoints_resumed > 30
    assert report.sessions > 10 and report.data_files > 10 and report.cli_paths > 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS + [" ", " ", ", "]), max_size=40))
def test_random_token_soup_gives_a_program_or_positioned_errors(tokens):
    text = " ".join(tokens)
    try:
        assemble_text(text, "soup.kta")
    except KtasmError as exc:
        lines = text.split("\n")
        for d in exc.diagnostics:
            assert 1 <= d.span.line <= max(1, len(lines)) and d.span.col >= 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode_text_never_crashes_the_assembler(text):
    report = FuzzReport()
    check_one(text, random.Random(0), report, run_budget=200)
    assert report.failures == [], report.failures
