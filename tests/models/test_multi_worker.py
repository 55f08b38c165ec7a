"""The Trainer's run_fn under MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 with TF_CONFIG."""
import glob
import json
import math
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from tokenized_corpus import write_tokenized_corpus
from tfx_nmt import contract

TRAIN_STEPS = 6

WORKER = """
import json, math
import tensorflow as tf
from tfx_nmt.components.trainer import TrainerFnArgs
from tfx_nmt.models.trainer import run_fn
from tfx_nmt.pipeline.presets import get_preset

config = get_preset("smoke").replace(strategy="multi_worker", steps_per_epoch=3, eval_batches=2)
work = {work!r}
run_fn(TrainerFnArgs(
    train_files=[work + "/tokenized/Split-train/*"], eval_files=[work + "/tokenized/Split-eval/*"],
    tokenizer_uri=work + "/tokenizer", model_run_dir=work + "/model_run",
    serving_model_dir=work + "/model/Format-Serving", train_steps={steps},
    custom_config=config.training_config()))
result = {{"index": {index}}}
if {index} == 0:
    outputs = tf.saved_model.load(work + "/model/Format-Serving").signatures["serving_default"](
        text=tf.constant(["A man in a red shirt."]))
    result["translation"] = outputs["translation"].numpy()[0].decode()
    result["log_probability_per_token"] = float(outputs["log_probability_per_token"].numpy()[0])
print(json.dumps(result))
"""


def free_ports(count):
    """`count` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def newest_checkpoint_embedding(directory):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(directory))
    [name] = [n for n in reader.get_variable_to_shape_map()
              if n.startswith("model/token_embedding") and "OPTIMIZER" not in n]
    return reader.get_tensor(name)


def test_two_workers_train_in_sync_and_the_chief_exports(tmp_path, data_dir, spm_model):
    work = str(tmp_path)
    write_tokenized_corpus(work, data_dir, spm_model)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        code = textwrap.dedent(WORKER.format(work=work, steps=TRAIN_STEPS, index=index))
        workers.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env))
    outputs = []
    try:
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=900)
            assert worker.returncode == 0, stderr[-4000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    with open(os.path.join(work, "model_run", contract.TRAINING_STATS_FILE)) as f:
        stats = json.load(f)
    assert stats["replicas"] == 2 and stats["steps"] == TRAIN_STEPS and stats["initial_step"] == 0
    assert math.isfinite(stats["loss"]) and math.isfinite(stats["val_loss"]) and stats["loss"] > 0
    # The chief exported a SavedModel that translates; the worker wrote nothing into the Model artifact.
    assert os.path.exists(os.path.join(work, "model", "Format-Serving", "saved_model.pb"))
    assert isinstance(outputs[0]["translation"], str) and math.isfinite(outputs[0]["log_probability_per_token"])
    with open(os.path.join(work, "model", "Format-Checkpoint", "model_state.json")) as f:
        assert json.load(f)["step"] == TRAIN_STEPS
    assert sorted(os.listdir(os.path.join(work, "model"))) == ["Format-CTranslate2", "Format-Checkpoint",
                                                               "Format-Serving"]
    # Both workers checkpointed after every epoch, the worker in its own directory, with equal weights.
    # Checkpoints live where a re-run finds them (training_stats.json records it); the worker's beside.
    chief_dir = stats["checkpoint_dir"]
    worker_dir = os.path.join(chief_dir, "worker-1")
    assert tf.train.latest_checkpoint(chief_dir).endswith(f"ckpt-{TRAIN_STEPS}")
    assert tf.train.latest_checkpoint(worker_dir).endswith(f"ckpt-{TRAIN_STEPS}")
    chief_embedding, worker_embedding = newest_checkpoint_embedding(chief_dir), newest_checkpoint_embedding(worker_dir)
    assert chief_embedding.shape[1] == 64
    np.testing.assert_array_equal(chief_embedding, worker_embedding)
    assert not glob.glob(os.path.join(work, "model_run", "worker-1", contract.TRAINING_STATS_FILE))
