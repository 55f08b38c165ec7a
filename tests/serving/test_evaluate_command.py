"""`tfx-nmt evaluate` on hand-made files with the echo SavedModel (tests/support/echo_model.py: its translation
is its input, so every score is known exactly), in process and through REST and gRPC servers on 127.0.0.1."""
import json
import os

import pytest
import sacrebleu

from echo_model import save_echo_model
from tf_serving_protocol import ServedModel, start_grpc_server, start_rest_server
from tfx_nmt import cli, contract, files

WORDS = "man woman dog cat ball park street red blue green runs jumps sits plays reads big small old young water".split()
# 40 hand-made sentences of 6 to 10 words; the echo model "translates" each into itself.
SENTENCES = [" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(6 + i % 5)) for i in range(40)]


@pytest.fixture(scope="module")
def echo_dir(tmp_path_factory):
    """The echo SavedModel with the translation settings an export of this project writes (target `de`)."""
    model_dir = save_echo_model(str(tmp_path_factory.mktemp("echo") / "1"))
    os.makedirs(os.path.join(model_dir, contract.ASSETS_EXTRA_DIR))
    files.write_json(os.path.join(model_dir, contract.ASSETS_EXTRA_DIR, contract.TRANSLATION_SETTINGS_FILE),
                     {"model": {}, "decoding": {}, "languages": {"source": "en", "target": "de"}})
    return model_dir


def _file(tmp_path, name, lines, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding) if isinstance(lines, list) else lines)
    return str(path)


def _evaluate(capsys, *args):
    """Runs `tfx-nmt evaluate ARGS` in process; returns (exit code, stdout, stderr)."""
    code = cli.main(["evaluate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_model_is_scored_against_its_references_with_intervals_and_perplexity(tmp_path, capsys, echo_dir):
    # References: the sources with every other line's first word changed, so BLEU is below 100.
    references = [s if i % 2 else "zebra " + s.split(" ", 1)[1] for i, s in enumerate(SENTENCES)]
    source, reference = _file(tmp_path, "test.en", SENTENCES), _file(tmp_path, "test.de", references)
    out_json = str(tmp_path / "scores.json")
    code, out, err = _evaluate(capsys, "--source", source, "--reference", reference, "--model-dir", echo_dir,
                               "--json", out_json)
    assert code == 0, err
    result = json.loads(open(out_json).read())
    expected = sacrebleu.corpus_bleu(SENTENCES, [references])
    assert result["target_language"] == "de" and result["bleu_tokenizer"] == "13a"  # From the SavedModel.
    candidate = result["candidate"]
    assert candidate["bleu"] == pytest.approx(expected.score)
    assert candidate["chrf"] == pytest.approx(sacrebleu.corpus_chrf(SENTENCES, [references]).score)
    assert candidate["chrf_plus_plus"] == pytest.approx(sacrebleu.CHRF(word_order=2).corpus_score(
        SENTENCES, [references]).score)
    assert candidate["ter"] == pytest.approx(sacrebleu.corpus_ter(SENTENCES, [references]).score)
    low, high = candidate["bleu_interval"]["low"], candidate["bleu_interval"]["high"]
    assert low < candidate["bleu"] < high
    # The echo model's `score` gives each word and EOS log-probability -1: perplexity e.
    assert candidate["perplexity"] == pytest.approx(2.718281828459045)
    assert result["baseline"] is None and result["significance"] is None
    assert f"BLEU         {candidate['bleu']:.2f} [{low:.2f}, {high:.2f}]" in out
    assert "40 sentences (0 with an empty reference left out), target language de" in out
    assert f"  BLEU: {candidate['bleu_signature']}" in out and "perplexity   2.72" in out
    assert "Translated" not in out  # The progress bar goes to stderr.


def test_hypotheses_against_a_baseline_that_empties_half_its_outputs(tmp_path, capsys):
    reference = _file(tmp_path, "ref.de", SENTENCES)
    hypotheses = _file(tmp_path, "hyp.de", SENTENCES)
    halved = _file(tmp_path, "halved.de", [s if i % 2 else "" for i, s in enumerate(SENTENCES)])
    out_json = str(tmp_path / "scores.json")
    # The halved system as the candidate: significantly worse than the full one.
    code, out, err = _evaluate(capsys, "--reference", reference, "--hypotheses", halved, "--baseline-hypotheses",
                               hypotheses, "--target-language", "de", "--json", out_json)
    assert code == 0, err
    result = json.loads(open(out_json).read())
    assert result["significance"]["p_value"] == pytest.approx(1 / 1001)
    assert result["baseline"]["bleu"] == pytest.approx(100.0) and result["candidate"]["bleu"] < 50
    assert result["candidate"]["perplexity"] is None  # No model: no perplexity.
    assert "paired bootstrap test on BLEU (1000 resamples, seed 12345): p = 0.0010" in out
    # Identical systems: not significantly different.
    code, out, err = _evaluate(capsys, "--reference", reference, "--hypotheses", hypotheses, "--baseline-hypotheses",
                               hypotheses, "--target-language", "de", "--json", out_json)
    assert code == 0 and json.loads(open(out_json).read())["significance"]["p_value"] == 1.0


def test_a_chinese_target_is_tokenized_with_zh(tmp_path, capsys):
    reference, hypotheses = _file(tmp_path, "ref.zh", ["猫坐在垫子上。"]), _file(tmp_path, "hyp.zh", ["猫坐在垫子上"])
    out_json = str(tmp_path / "scores.json")
    code, out, err = _evaluate(capsys, "--reference", reference, "--hypotheses", hypotheses, "--target-language", "zh",
                               "--json", out_json)
    assert code == 0, err
    result = json.loads(open(out_json).read())
    assert round(result["candidate"]["bleu"], 2) == 84.65 and result["bleu_tokenizer"] == "zh"
    assert result["candidate"]["bleu_lowercase_tokenized"] is None
    assert "BLEU lc tok: not applicable (the references are not mostly in Latin script" in out


def test_rest_and_grpc_servers_are_scored_like_the_local_model(tmp_path, capsys, echo_dir):
    source, reference = _file(tmp_path, "test.en", SENTENCES), _file(tmp_path, "test.de", SENTENCES)
    served = ServedModel(echo_dir, "translator", 1)
    url, rest = start_rest_server(served)
    target, grpc_server = start_grpc_server(served)
    try:
        for flag, address in (("--server", url), ("--grpc", target)):
            out_json = str(tmp_path / f"{flag[2:]}.json")
            code, out, err = _evaluate(capsys, "--source", source, "--reference", reference, flag, address,
                                       "--target-language", "de", "--json", out_json)
            assert code == 0, err
            result = json.loads(open(out_json).read())
            assert result["candidate"]["bleu"] == pytest.approx(100.0)
            assert result["candidate"]["perplexity"] is None  # Perplexity needs the local model's `score`.
        code, _, err = _evaluate(capsys, "--source", source, "--reference", reference, "--server", url)
        assert code == 1 and err == ("tfx-nmt: error: --target-language is needed with --server (only a --model-dir "
                                     "records its target language)\n")
    finally:
        rest.shutdown()
        grpc_server.stop(None)


def test_bad_input_is_one_error_line(tmp_path, capsys, echo_dir):
    source = _file(tmp_path, "test.en", SENTENCES)
    short = _file(tmp_path, "short.de", SENTENCES[:39])
    empty = _file(tmp_path, "empty.de", b"")
    latin1 = _file(tmp_path, "latin1.de", b"ok\nGr\xfc\xdfe\n")
    not_ours = tmp_path / "other"
    not_ours.mkdir()
    (not_ours / "saved_model.pb").write_bytes(b"")
    cases = [
        (["--source", source, "--reference", short, "--model-dir", echo_dir],
         f"--reference {short} has 39 lines but --source {source} has 40: they must pair up line by line"),
        (["--source", source, "--reference", empty, "--model-dir", echo_dir], f"--reference {empty}: is empty"),
        (["--reference", latin1, "--hypotheses", latin1, "--target-language", "de"],
         f"{latin1}:2: not UTF-8 (invalid start byte at byte 2)"),
        (["--source", source, "--reference", source, "--model-dir", str(not_ours)],
         f"--model-dir {not_ours}: not a SavedModel of tfx-nmt (no assets.extra/translation_settings.json)"),
        (["--source", source, "--reference", source, "--model-dir", str(tmp_path)],
         f"--model-dir {tmp_path}: not a SavedModel (no saved_model.pb); give a version directory such as "
         "outputs/quick/serving/translator/<version>"),
        (["--reference", source, "--hypotheses", source],
         "--target-language is needed with --hypotheses (only a --model-dir records its target language)"),
        (["--reference", source, "--model-dir", echo_dir],
         "--source is needed to translate (with --model-dir, --server or --grpc)"),
    ]
    for args, message in cases:
        code, out, err = _evaluate(capsys, *args)
        assert (code, err) == (1, f"tfx-nmt: error: {message}\n"), args
