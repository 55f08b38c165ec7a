"""Shared fixtures: the corpus, a small SentencePiece model, and one `smoke` pipeline run per session.

Helper modules the tests import live in `tests/support/`, or in `bench/` when the bench scripts use them
too (`corpora`, `finished_run`): both are on sys.path through pytest.ini's `pythonpath`;
tests run with `--import-mode=importlib`, so the repository's top-level folders are never importable under
their bare names: the code under test is always `tfx_nmt.*`, as installed.
"""
import json
import os
import subprocess
import sys

import pytest

from processes import REPO
from tfx_nmt import contract


# Fixtures that are, or need, a pipeline run: a test that uses one is marked `pipeline_run` (pytest.ini).
PIPELINE_RUN_FIXTURES = {"smoke_run"}


def pytest_collection_modifyitems(items):
    """Marks every test that uses the shared smoke run, directly or through another fixture, `pipeline_run`;
    tests that start a run of their own carry the marker themselves."""
    for item in items:
        if PIPELINE_RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pipeline_run)

@pytest.fixture(scope="session")
def data_dir():
    """The Multi30k directory: $TFX_NMT_DATA_DIR (set by the Makefile), else the project's resolver."""
    from tfx_nmt.pipeline.data_source import resolve_data_dir

    return resolve_data_dir(None)


@pytest.fixture(scope="session")
def train_sentences(data_dir):
    """The first 3,000 English and German train sentences, normalized."""
    from corpora import read_corpus
    from tfx_nmt.text.normalization import normalize

    pairs = read_corpus(data_dir, "en", "de", {"train": 3000, "eval": 1, "test": 1})["train"]
    return [normalize(x) for pair in pairs for x in pair]


@pytest.fixture(scope="session")
def spm_model(train_sentences):
    """A 1,000-piece SentencePiece model proto learned on `train_sentences`."""
    from tfx_nmt.text import subword

    return subword.train_sentencepiece(train_sentences, 1000)


@pytest.fixture(scope="session")
def smoke_data_dir(tmp_path_factory, data_dir):
    """The smoke run's corpus directory: Multi30k's files (linked) and a hand-made further test set
    (`extra_test_set.EXTRA_TEST_SPLIT`)."""
    from extra_test_set import link_corpus_with_extra_test_set

    return link_corpus_with_extra_test_set(data_dir, str(tmp_path_factory.mktemp("smoke_data")))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, smoke_data_dir):
    """One `tfx-nmt run --preset smoke` for the whole session, on `smoke_data_dir`: (output_dir, run_summary
    dict, log text)."""
    output_dir = tmp_path_factory.mktemp("smoke")
    result = subprocess.run(
        [sys.executable, "-m", "tfx_nmt.cli", "run", "--preset", "smoke", "--data-dir", smoke_data_dir,
         "--output-dir", str(output_dir)],
        capture_output=True, text=True, timeout=2400, cwd=REPO)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    with open(os.path.join(output_dir, contract.RUN_SUMMARY_FILE)) as f:
        return str(output_dir), json.load(f), log
