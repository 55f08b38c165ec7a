"""The Trainer's training loop (`train`, `run_fn`) on a tiny real corpus, without a pipeline: TensorBoard
scalars against the optimizer step across a resume, read back with TensorBoard's own EventAccumulator, and
the stop at the first non-finite loss."""
import json
import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from processes import fresh_python
from tokenized_corpus import write_tokenized_corpus
from tfx_nmt import contract
from tfx_nmt.components.trainer import TrainerFnArgs
from tfx_nmt.models.callbacks import TrainingDivergedError
from tfx_nmt.models.checkpoint_averaging import checkpoint_steps
from tfx_nmt.models.precision import training_dtype_policy
from tfx_nmt.models.trainer import run_fn, train
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

# Epochs of 4 steps, a TensorBoard point every 2 steps; 2 validation batches and 4 validation BLEU sentences.
CONFIG = get_preset("smoke").replace(steps_per_epoch=4, log_every_steps=2, eval_batches=2,
                                     validation_bleu_sentences=4, checkpoint_every_steps=0)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, data_dir, spm_model):
    work = str(tmp_path_factory.mktemp("trainer_corpus"))
    write_tokenized_corpus(work, data_dir, spm_model)
    return work


def _fn_args(corpus, tmp_path, config, execution_id, train_steps):
    """run_fn's arguments as the Trainer's executor gives them, on the tiny corpus; the SavedModel goes to
    `tmp_path/model/Format-Serving`."""
    return TrainerFnArgs(
        train_files=[os.path.join(corpus, "tokenized", "Split-train", "*")],
        eval_files=[os.path.join(corpus, "tokenized", "Split-eval", "*")],
        tokenizer_uri=os.path.join(corpus, "tokenizer"),
        model_run_dir=str(tmp_path / "Trainer" / "model_run" / str(execution_id)),
        serving_model_dir=str(tmp_path / "model" / "Format-Serving"), train_steps=train_steps, eval_steps=2,
        custom_config=config.training_config())


def _train(corpus, config, run_dir, checkpoint_dir, train_steps):
    tokenizer = SentencePieceTokenizer.from_artifact(os.path.join(corpus, "tokenizer"))
    return train(config, [os.path.join(corpus, "tokenized", "Split-train", "*")],
                 [os.path.join(corpus, "tokenized", "Split-eval", "*")], tokenizer.vocabulary_size, run_dir,
                 train_steps, checkpoint_dir, tokenizer.model_proto)


def _scalars(directory):
    """{tag: [(step, value)]} of the TF2 scalar summaries in one TensorBoard run directory."""
    events = EventAccumulator(directory, size_guidance={"tensors": 0})
    events.Reload()
    return {tag: [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]
            for tag in events.Tags()["tensors"] if not tag.startswith("_hparams_")}


def test_tensorboard_scalars_follow_the_optimizer_step_across_a_resume(corpus, tmp_path):
    checkpoints = str(tmp_path / "checkpoints")
    first_run, resumed_run = str(tmp_path / "model_run" / "1"), str(tmp_path / "model_run" / "2")
    _, first_stats = _train(corpus, CONFIG, first_run, checkpoints, train_steps=8)
    # A re-run of the Trainer (a new model run directory, the same checkpoints) resumes at step 8.
    _, stats = _train(corpus, CONFIG, resumed_run, checkpoints, train_steps=12)
    assert (first_stats["steps"], stats["initial_step"], stats["steps"]) == (8, 8, 12)

    first_train, resumed_train = _scalars(os.path.join(first_run, "train")), _scalars(os.path.join(resumed_run, "train"))
    for tag in ("steps/loss", "steps/learning_rate", "steps/target_tokens_per_sec"):
        assert [step for step, _ in first_train[tag]] == [2, 4, 6, 8], tag
        assert [step for step, _ in resumed_train[tag]] == [10, 12], tag
    losses = [value for _, value in first_train["steps/loss"] + resumed_train["steps/loss"]]
    assert all(0 < loss < 10 for loss in losses)  # Cross-entropy in nats over a 1,000-piece vocabulary.
    # The learning rate of the warm-up (40 steps) of the smoke preset: 3e-3 * (step + 1) / 40.
    rates = [value for _, value in first_train["steps/learning_rate"] + resumed_train["steps/learning_rate"]]
    np.testing.assert_allclose(rates, [3e-3 * (step + 1) / 40 for step in (2, 4, 6, 8, 10, 12)], rtol=1e-5)
    # Keras's epoch scalars continue the epoch numbers (initial_epoch) instead of restarting at 0.
    assert [step for step, _ in first_train["epoch_loss"]] == [0, 1]
    assert [step for step, _ in resumed_train["epoch_loss"]] == [2]
    assert [value for _, value in first_train["epoch_step"] + resumed_train["epoch_step"]] == [4.0, 8.0, 12.0]

    first_validation = _scalars(os.path.join(first_run, "validation"))
    resumed_validation = _scalars(os.path.join(resumed_run, "validation"))
    for tag in ("steps/loss", "steps/perplexity", "steps/bleu"):
        assert [step for step, _ in first_validation[tag]] == [4, 8], tag
        assert [step for step, _ in resumed_validation[tag]] == [12], tag
    assert [step for step, _ in resumed_validation["epoch_perplexity"]] == [2]
    # Perplexity is exp of the mean per-token negative log-likelihood without label smoothing (0.1 here),
    # so it lies below exp of the label-smoothed loss; and it is the value of the epoch scalar.
    for (_, perplexity), (_, loss) in zip(first_validation["steps/perplexity"], first_validation["steps/loss"]):
        assert 1 < perplexity < math.exp(loss)
    assert resumed_validation["steps/perplexity"][0][1] == pytest.approx(resumed_validation["epoch_perplexity"][0][1])
    assert resumed_validation["steps/loss"][0][1] == pytest.approx(stats["val_loss"], rel=1e-6)

    # The run's configuration as TensorBoard HParams, in each model run directory.
    events = EventAccumulator(resumed_run, size_guidance={"tensors": 0})
    events.Reload()
    [session_start] = [tag for tag in events.Tags()["tensors"] if tag == "_hparams_/session_start_info"]
    plugin_data = plugin_data_pb2.HParamsPluginData.FromString(
        events.SummaryMetadata(session_start).plugin_data.content)
    hparams = plugin_data.session_start_info.hparams
    assert hparams["d_model"].number_value == 64 and hparams["preset"].string_value == "smoke"
    assert hparams["log_every_steps"].number_value == 2 and hparams["normalize_first"].bool_value is True


def test_a_diverging_loss_stops_the_trainer_before_anything_is_written(corpus, tmp_path):
    # Adam moves every weight by about the learning rate at each step: 1e30 overflows float32 at once.
    config = CONFIG.replace(learning_rate=1e30, warmup_steps=1, validation_bleu_sentences=0)
    model_dir = tmp_path / "model"
    fn_args = _fn_args(corpus, tmp_path, config, execution_id=3, train_steps=8)
    with pytest.raises(TrainingDivergedError) as raised:
        run_fn(fn_args)
    message = str(raised.value)
    match = re.fullmatch(r"training diverged: the loss of step (\d+) is (nan|inf); the last finite loss was "
                         r"(\d+\.\d{4}) at step (\d+)\. Nothing was exported, evaluated or pushed; lower "
                         r"--learning-rate or raise --warmup-steps and run again", message)
    assert match, message
    step, last_step = int(match.group(1)), int(match.group(4))
    assert last_step == step - 1 and 1 <= last_step < 8 and 0 < float(match.group(3)) < 10
    # Stopped at once: no model, no training stats, and no checkpoint (the first epoch never ended).
    assert not model_dir.exists()
    assert not os.path.exists(os.path.join(fn_args.model_run_dir, contract.TRAINING_STATS_FILE))
    assert not [d for d in (tmp_path / "Trainer" / "checkpoints").glob("*") if checkpoint_steps(str(d))]
    assert json.dumps(message).count("\\n") == 0  # One line.


EXPORTED_DTYPES = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the SentencePiece ops of the graph)
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
export_dir = sys.argv[1] if len(sys.argv) > 1 else {export_dir!r}
proto = saved_model_pb2.SavedModel()
with open(export_dir + "/saved_model.pb", "rb") as f:
    proto.ParseFromString(f.read())
graph = proto.meta_graphs[0].graph_def
nodes = list(graph.node) + [n for function in graph.library.function for n in function.node_def]
half = sorted({{n.op for n in nodes for value in n.attr.values()
               if value.type in (types_pb2.DT_BFLOAT16, types_pb2.DT_HALF)
               or types_pb2.DT_BFLOAT16 in value.list.type or types_pb2.DT_HALF in value.list.type}})
model = tf.saved_model.load(export_dir)
result = {{"half_precision_ops": half}}
for name in ("serving_default", "translate_greedy"):
    signature = model.signatures[name]
    outputs = signature(text=tf.constant(["A man is riding a bike.", "Two dogs play in the snow."]))
    result[name] = {{"inputs": {{k: v.dtype.name for k, v in signature.structured_input_signature[1].items()}},
                    "outputs": {{k: v.dtype.name for k, v in signature.structured_outputs.items()}},
                    "translations": [t.decode() for t in outputs["translation"].numpy()],
                    "scores": outputs["log_probability_per_token"].numpy().tolist()}}
print(json.dumps(result))
"""


def test_a_bf16_trained_model_exports_a_float32_saved_model_that_translates(corpus, tmp_path):
    config = CONFIG.replace(mixed_precision="bf16", steps_per_epoch=20, average_checkpoints=0)
    model_dir = tmp_path / "model"
    fn_args = _fn_args(corpus, tmp_path, config, execution_id=4, train_steps=40)
    run_fn(fn_args)
    with open(os.path.join(fn_args.model_run_dir, contract.TRAINING_STATS_FILE)) as f:
        stats = json.load(f)
    # Trained in bfloat16 where the CPU has it (else the documented fallback to float32).
    assert stats["dtype_policy"] == training_dtype_policy("bf16")[0]
    assert stats["steps"] == 40 and math.isfinite(stats["loss"])
    result = fresh_python(EXPORTED_DTYPES.format(export_dir=str(model_dir / "Format-Serving")))
    assert result.returncode == 0, result.stderr[-3000:]
    exported = json.loads(result.stdout.strip().splitlines()[-1])
    assert exported["half_precision_ops"] == []
    for name in ("serving_default", "translate_greedy"):
        assert exported[name]["inputs"] == {"text": "string"}
        assert exported[name]["outputs"] == {"translation": "string", "log_probability_per_token": "float32"}
        # 40 steps of the smoke model: words, if not yet good ones.
        assert len(exported[name]["translations"]) == 2 and any(exported[name]["translations"])
        assert all(math.isfinite(score) and score < 0 for score in exported[name]["scores"])
