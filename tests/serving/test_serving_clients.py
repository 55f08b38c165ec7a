"""`tfx-nmt translate` and its clients against the pushed smoke model: in process, and through servers on
127.0.0.1 that follow TF Serving's REST and gRPC protocols (see tf_serving_protocol.py for why these are
not the real model server)."""
import logging
import os
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from echo_model import save_echo_model
from processes import REPO
from tf_serving_protocol import ServedModel, start_grpc_server, start_rest_server
from tfx_nmt.serving.clients import GrpcClient, RestClient, SavedModelClient, ServingError, translate_all

SENTENCES = ["A man in a red shirt.", "Two dogs play in the snow.", "", "A girl is reading a book on a bench.",
             "hello 😀 world"]


@pytest.fixture(scope="module")
def served(smoke_run):
    pushed = smoke_run[1]["pushed_model_dir"]
    return ServedModel(pushed, "translator", int(os.path.basename(pushed)))


@pytest.fixture(scope="module")
def expected(served):
    """{signature: (translations, scores)} from calling the SavedModel directly."""
    result = {}
    for signature in ("serving_default", "translate_greedy"):
        outputs = served.run(signature, {"text": SENTENCES})
        result[signature] = ([t.decode() for t in outputs["translation"]], outputs["log_probability_per_token"].tolist())
    return result


@pytest.fixture(scope="module")
def rest_url(served):
    url, server = start_rest_server(served)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def grpc_target(served):
    target, server = start_grpc_server(served)
    yield target
    server.stop(None)


def test_rest_client(served, expected, rest_url):
    for signature in ("serving_default", "translate_greedy"):
        translations, scores = RestClient(rest_url, "translator", signature).translate(SENTENCES)
        assert translations == expected[signature][0]
        assert scores == pytest.approx(expected[signature][1], abs=1e-6)
    assert translations[2] == "" and scores[2] == 0.0
    versioned = RestClient(rest_url, "translator", version=served.version)
    assert versioned.url.endswith(f"/v1/models/translator/versions/{served.version}:predict")
    assert versioned.translate(SENTENCES[:1])[0] == expected["serving_default"][0][:1]
    # The readiness probe's URL of the Kubernetes Deployment.
    with urllib.request.urlopen(f"{rest_url}/v1/models/translator") as response:
        assert b'"state": "AVAILABLE"' in response.read()
    with pytest.raises(ServingError, match="HTTP 404"):
        RestClient(rest_url, "no-such-model").translate(["x"])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ServingError, match=f"127.0.0.1:{port}/v1/models/translator:predict: cannot reach TF Serving"):
        RestClient(f"http://127.0.0.1:{port}", "translator").translate(["x"])


def test_grpc_client(expected, grpc_target):
    for signature in ("serving_default", "translate_greedy"):
        client = GrpcClient(grpc_target, "translator", signature)
        translations, scores = client.translate(SENTENCES)
        client.close()
        assert translations == expected[signature][0]
        assert scores == pytest.approx(expected[signature][1], abs=1e-6)
    with pytest.raises(ServingError, match=f"{grpc_target}: gRPC NOT_FOUND: "):
        GrpcClient(grpc_target, "no-such-model").translate(["x"])


def test_translate_all_keeps_input_order_across_batches(expected, rest_url):
    client = RestClient(rest_url, "translator")
    translations, scores = translate_all(client.translate, SENTENCES, batch_size=2)
    assert translations == expected["serving_default"][0]


def test_saved_model_client_logs_progress_and_scores_references(tmp_path, caplog):
    client = SavedModelClient(save_echo_model(str(tmp_path / "echo")))  # Translates a text into itself.
    with caplog.at_level(logging.INFO, logger="tfx_nmt.serving.clients"):
        translations, _ = translate_all(client.translate, ["b c", "a", "d e f"], batch_size=2, log_every_seconds=0.0)
    assert translations == ["b c", "a", "d e f"]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "Translated 2 of 3 sentences", "Translated 3 of 3 sentences"]
    # The echo model's `score` signature: one token per target word plus EOS, each of log-probability -1.
    assert client.log_likelihood(["x", "y"], ["a b", "c"], batch_size=1) == (-5.0, 5)
    with pytest.raises(ValueError, match="2 sources for 1 targets"):
        client.log_likelihood(["x", "y"], ["a"], batch_size=1)


def _translate_cli(*args, stdin=None):
    result = subprocess.run([sys.executable, "-m", "tfx_nmt.cli", "translate", *args], input=stdin,
                            capture_output=True, text=True, timeout=600, cwd=REPO,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_translate_command(smoke_run, expected, rest_url, grpc_target, tmp_path):
    output_dir, summary, _ = smoke_run
    beam, greedy = expected["serving_default"][0], expected["translate_greedy"][0]
    source = tmp_path / "source.txt"
    source.write_text("".join(s + "\n" for s in SENTENCES), encoding="utf-8")
    target = tmp_path / "target.txt"
    # Default model: the newest pushed version under --output-dir; files; batches of 2; a progress bar.
    result = _translate_cli("--output-dir", output_dir, "--input", str(source), "--output", str(target),
                            "--batch-size", "2")
    assert target.read_text(encoding="utf-8").splitlines() == beam
    assert f"{len(SENTENCES)}/{len(SENTENCES)}" in result.stderr
    # TF Serving REST, stdin to stdout named "-", greedy signature.
    result = _translate_cli("--server", rest_url, "--model-name", "translator", "--signature", "translate_greedy",
                            "--input", "-", "--output", "-", stdin="".join(s + "\n" for s in SENTENCES))
    assert result.stdout.splitlines() == greedy
    # TF Serving gRPC, sentences as arguments, with scores.
    result = _translate_cli("--grpc", grpc_target, "--model-name", "translator", "--scores", *SENTENCES[:2])
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [t for _, t in lines] == beam[:2]
    assert [float(s) for s, _ in lines] == pytest.approx(expected["serving_default"][1][:2], abs=1e-4)


def test_n_best_through_every_client_and_the_translate_command(smoke_run, served, rest_url, grpc_target):
    from tfx_nmt.pipeline.presets import get_preset

    output_dir, summary, _ = smoke_run
    outputs = served.run("translate_n_best", {"text": SENTENCES})
    hypotheses = [[t.decode() for t in row] for row in outputs["translations"]]
    scores = outputs["scores"].tolist()
    beam_size = get_preset("smoke").beam_size
    assert all(len(row) == beam_size for row in hypotheses)
    clients = [SavedModelClient(summary["pushed_model_dir"]), RestClient(rest_url, "translator"),
               GrpcClient(grpc_target, "translator")]
    for client in clients:
        client_hypotheses, client_scores = client.translate_n_best(SENTENCES)
        assert client_hypotheses == hypotheses, type(client).__name__
        # -inf (an unfilled slot) comes back as -inf, also through REST's JSON.
        np.testing.assert_allclose(client_scores, scores, atol=1e-6, err_msg=type(client).__name__)
    clients[2].close()
    result = _translate_cli("--output-dir", output_dir, "--n-best", "2", *SENTENCES)
    assert result.stdout.splitlines() == [f"{i} ||| {h} ||| {s:.4f}" for i in range(len(SENTENCES))
                                          for h, s in zip(hypotheses[i][:2], scores[i][:2]) if s != float("-inf")]
    assert [line for line in result.stdout.splitlines() if line.startswith("2 ")] == ["2 |||  ||| 0.0000"]
    result = _translate_cli("--server", rest_url, "--model-name", "translator", "--n-best", str(beam_size),
                            "--batch-size", "2", *SENTENCES)
    assert len(result.stdout.splitlines()) == sum(s != float("-inf") for row in scores for s in row)
    too_many = subprocess.run([sys.executable, "-m", "tfx_nmt.cli", "translate", "--output-dir", output_dir,
                               "--n-best", str(beam_size + 1), "A dog."], capture_output=True, text=True,
                              timeout=600, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert too_many.returncode == 1 and too_many.stdout == ""
    assert too_many.stderr.strip().splitlines()[-1] == (
        f"tfx-nmt: error: --n-best {beam_size + 1} is more than the model's beam size, {beam_size}: it returns "
        f"{beam_size} hypotheses per input; pass --n-best {beam_size} or fewer")
