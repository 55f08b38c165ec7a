"""`CTranslate2Client` and `tfx-nmt translate --engine ctranslate2` on the smoke run's CTranslate2 export (the
Trainer's `Format-CTranslate2/`) against the pushed SavedModel, on 200 test_2016_flickr sentences.

The smoke model is tiny and its translations repeat a few words, so the BLEU comparisons here check the
plumbing (same tokenization, limits and detokenization) more than the search; BENCHMARKS.md gives the same
figures on the quick model (peer benchmark)."""
import glob
import os
import subprocess
import sys

import pytest

from corpora import read_corpus
from processes import REPO
from tfx_nmt import contract
from tfx_nmt.cli import main
from tfx_nmt.scoring.translation_metrics import corpus_bleu
from tfx_nmt.serving.clients import (CTranslate2Client, CTranslate2LoadError, SavedModelClient,
                                     translate_all)

CONTRACT_CASES = ["  A man\u00a0in a red\tshirt. ", "", " \t ", "hello 😀 world", "Zwei " * 200]


@pytest.fixture(scope="module")
def ctranslate2_dir(smoke_run):
    output_dir, _, _ = smoke_run
    [directory] = glob.glob(os.path.join(output_dir, "pipeline_root", contract.TRAINER, contract.MODEL, "*",
                                         contract.CTRANSLATE2_MODEL_DIR))
    return directory


@pytest.fixture(scope="module")
def test_pairs(data_dir):
    return read_corpus(data_dir, "en", "de", {"train": 1, "eval": 1, "test": 200})["test"]


def _identical(a, b):
    return sum(x == y for x, y in zip(a, b)) / len(a)


def test_greedy_outputs_and_scores_equal_the_saved_models(smoke_run, ctranslate2_dir, test_pairs):
    sources = [s for s, _ in test_pairs] + CONTRACT_CASES
    saved_model = SavedModelClient(smoke_run[1]["pushed_model_dir"], "translate_greedy")
    expected, expected_scores = translate_all(saved_model.translate, sources, 64)
    client = CTranslate2Client(ctranslate2_dir, "translate_greedy")
    translations, scores = translate_all(client.translate, sources, 64)
    assert _identical(translations[:200], expected[:200]) >= 0.99
    # Normalization, truncation of the 1,000-piece source, the length limit, empty inputs: the same contract.
    assert translations[200:] == expected[200:]
    assert translations[201] == translations[202] == "" and scores[201] == scores[202] == 0.0
    same = [(s, e) for t, s, x, e in zip(translations, scores, expected, expected_scores) if t == x]
    assert max(abs(s - e) for s, e in same) < 1e-4
    assert client.intra_threads == 0  # The float32 export's default: every core.


def test_beam_and_int8_bleu_within_bounds_of_the_saved_models(smoke_run, ctranslate2_dir, test_pairs, tmp_path):
    sources, references = [s for s, _ in test_pairs], [t for _, t in test_pairs]
    saved_model = SavedModelClient(smoke_run[1]["pushed_model_dir"])
    saved_bleu = corpus_bleu(translate_all(saved_model.translate, sources, 64)[0], references).score
    beam = translate_all(CTranslate2Client(ctranslate2_dir).translate, sources, 64)[0]
    assert abs(corpus_bleu(beam, references).score - saved_bleu) <= 0.3
    int8_dir = str(tmp_path / "int8")
    assert main(["export-ctranslate2", "--model-dir", smoke_run[1]["pushed_model_dir"], "--output", int8_dir,
                 "--quantization", "int8"]) == 0
    int8_client = CTranslate2Client(int8_dir)
    assert int8_client.intra_threads == 1
    int8 = translate_all(int8_client.translate, sources, 64)[0]
    assert abs(corpus_bleu(int8, references).score - saved_bleu) <= 1.0


def test_translate_command_with_the_ctranslate2_engine(smoke_run, ctranslate2_dir, capsys):
    sentences = ["A man in a red shirt.", "Two dogs play in the snow."]
    expected, scores = CTranslate2Client(ctranslate2_dir, "translate_greedy").translate(sentences)
    result = subprocess.run([sys.executable, "-m", "tfx_nmt.cli", "translate", "--engine", "ctranslate2",
                             "--model-dir", ctranslate2_dir, "--signature", "translate_greedy", "--scores",
                             "--intra-threads", "1", *sentences], capture_output=True, text=True, timeout=600,
                            cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "".join(f"{s:.4f}\t{t}\n" for s, t in zip(scores, expected))
    pushed = smoke_run[1]["pushed_model_dir"]
    assert main(["translate", "--engine", "ctranslate2", "--model-dir", pushed, "x"]) == 1
    assert capsys.readouterr().err.startswith(f"tfx-nmt: error: {pushed}: not a CTranslate2 export (no model.bin")
    assert main(["translate", "--engine", "ctranslate2", "x"]) == 1
    assert "--engine ctranslate2 needs --model-dir" in capsys.readouterr().err
    with pytest.raises(CTranslate2LoadError):
        CTranslate2Client(pushed)
