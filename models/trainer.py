"""The TFX Trainer's entry point: `run_fn(fn_args)` trains the Transformer and exports the serving model.

Wiring (`tfx_nmt.components.trainer`): `fn_args.custom_config` is `RunConfig.training_config()`;
`fn_args.tokenizer_uri` is the SubwordTokenizer's tokenizer artifact; `fn_args.train_files` / `eval_files`
are the tokenized Examples.
TensorBoard logs (`train/`, `validation/`: Keras's epoch scalars and `StepScalars`' scalars against the
optimizer step; the run's RunConfig as HParams) and `training_stats.json` go to `fn_args.model_run_dir`; the
SavedModel to `fn_args.serving_model_dir`, the checkpoint a later run warm-starts from to
`Format-Checkpoint/` beside it (`tfx_nmt.models.warm_start`), and the float32 CTranslate2 model of the same
weights to `Format-CTranslate2/` (`tfx_nmt.models.ctranslate2_export`); training checkpoints go to
`checkpoint_directory(fn_args)`, which a re-run of the Trainer on the same inputs finds again (see there).

Under `strategy multi_worker` every worker runs this same `run_fn` with its own `TF_CONFIG`; only the
chief writes into the artifacts. The other workers keep their logs in
`<model_run_dir>/<task type>-<task index>/` and their checkpoints in a subdirectory of the same name
(so that each can resume) and export into a temporary
directory that they delete: saving may run collective ops, so every worker must take part.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import time
from typing import Optional

import keras
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from tfx_nmt.config import RunConfig
from tfx_nmt.contract import CTRANSLATE2_MODEL_DIR, TRAINING_STATS_FILE
from tfx_nmt.models import callbacks as training_callbacks
from tfx_nmt.models.checkpoint_averaging import average_last_checkpoints, checkpoint_steps
from tfx_nmt.models.ctranslate2_export import export_ctranslate2
from tfx_nmt.models.devices import is_chief, make_strategy, training_hardware
from tfx_nmt.models.export import TranslatorServingModule, export_serving_model
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.precision import training_dtype_policy
from tfx_nmt.models.schedules import InverseSquareRootSchedule
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.models.validation_bleu import ValidationBleu, read_validation_pairs
from tfx_nmt.models.warm_start import RestoreWarmStart, WarmStart, plan_warm_start, write_model_checkpoint
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

log = logging.getLogger(__name__)


def build_model(config: RunConfig, vocabulary_size: int) -> TransformerTranslator:
    """A built TransformerTranslator of `config.model_config()`'s shape with `config.label_smoothing`
    (variables created in the current strategy scope), over the tokenizer's joint vocabulary of
    `vocabulary_size` ids, in the dtype policy of `config.mixed_precision` on this machine
    (`precision.training_dtype_policy`); the variables are float32 under every policy."""
    shape = dataclasses.replace(config.model_config(), vocabulary_size=vocabulary_size)
    policy, _ = training_dtype_policy(config.mixed_precision)
    model = TransformerTranslator(**dataclasses.asdict(shape), label_smoothing=config.label_smoothing,
                                  dtype=policy)
    model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    if policy != "float32":
        # The attention softmax in float32 (Keras's mixed precision guide); keras_hub builds its attention
        # layers, and their Softmax, in the first call. Dropout after it casts back to the compute dtype.
        for layer in model._flatten_layers():  # pylint: disable=protected-access
            if isinstance(layer, keras.layers.Softmax):
                layer.dtype_policy = "float32"
    return model


def float32_copy(model: TransformerTranslator, config: RunConfig) -> TransformerTranslator:
    """A float32 TransformerTranslator with `model`'s weights, whatever `model`'s dtype policy: what the
    SavedModel and the CTranslate2 model are exported from (built outside any strategy scope)."""
    copy = build_model(config.replace(mixed_precision="off"), model.vocabulary_size)
    copy.set_weights(model.get_weights())
    return copy


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """Adam (beta2 0.98, epsilon 1e-9, Vaswani et al. 2017 section 5.3) with warm-up and 1/sqrt decay; under
    `mixed_precision` fp16 wrapped in Keras's `LossScaleOptimizer` (dynamic loss scaling, so that small
    float16 gradients do not underflow)."""
    optimizer = keras.optimizers.Adam(
        learning_rate=InverseSquareRootSchedule(config.learning_rate, config.warmup_steps),
        beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    if training_dtype_policy(config.mixed_precision)[0] == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def compiled_model(config: RunConfig, vocabulary_size: int) -> TransformerTranslator:
    """`build_model` compiled with `make_optimizer` (and XLA when `config.jit_compile`), as it is trained
    and checkpointed (variables created in the current strategy scope)."""
    model = build_model(config, vocabulary_size)
    model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
    return model


def checkpoint_directory(fn_args) -> str:
    """Where the Trainer checkpoints: `<Trainer output dir>/checkpoints/<fingerprint>/`.

    Each execution of the Trainer gets a new `model_run_dir` (`<pipeline_root>/Trainer/model_run/<execution
    id>`), so checkpoints kept there are lost to a re-run after a crash. They go beside it instead, keyed
    by a SHA-256 of everything that determines the training: the input artifacts' URIs (a re-run that
    reuses the cached upstream components gets the same ones), the run config and the step counts. A
    re-run of the same training resumes; any other training starts from scratch.
    """
    key = json.dumps({
        "train_files": list(fn_args.train_files), "eval_files": list(fn_args.eval_files),
        "tokenizer_uri": fn_args.tokenizer_uri, "custom_config": fn_args.custom_config,
        "train_steps": fn_args.train_steps, "eval_steps": fn_args.eval_steps,
    }, sort_keys=True)
    trainer_dir = os.path.dirname(os.path.dirname(fn_args.model_run_dir.rstrip("/")))
    return os.path.join(trainer_dir, "checkpoints", hashlib.sha256(key.encode()).hexdigest()[:16])


def _shard_batches(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Across workers, each worker keeps its share of every global batch (`AutoShardPolicy.DATA`).

    Sharding by file (TensorFlow's default when there are enough files) would give workers different
    numbers of length-bucketed batches, and a worker that runs out first stalls the collective ops.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def train(config: RunConfig, train_files, eval_files, vocabulary_size: int, model_run_dir: str,
          train_steps: int, checkpoint_dir: str, tokenizer_model: bytes,
          strategy: Optional[tf.distribute.Strategy] = None, warm_start: Optional[WarmStart] = None):
    """Builds, compiles and fits the model under `strategy` (default: `make_strategy` of `config`).

    Args:
        checkpoint_dir: where checkpoints are written (every epoch, and every `checkpoint_every_steps`
            steps when set), with the training time up to each epoch, and resumed from.
        tokenizer_model: SentencePiece model proto; detokenizes the translations of the validation BLEU.
        strategy: a tf.distribute strategy created by `make_strategy`.
        warm_start: when its `checkpoint` is set, training starts from it and runs `train_steps` more
            steps; else from scratch.

    Returns:
        (model, stats dict with `steps`, `initial_step`, `train_seconds` (validation excluded),
        `elapsed_seconds` (validation included: what `max_train_seconds` limits), `target_tokens`,
        `target_tokens_per_sec`, final `loss` and `val_loss`); seconds and tokens count the whole
        training, also the part before a resume from `checkpoint_dir`.
    """
    if strategy is None:
        strategy = make_strategy(config.replicas, config.strategy)
    keras.utils.set_random_seed(config.seed)
    policy, warning = training_dtype_policy(config.mixed_precision)
    if warning:
        log.warning(warning)
    train_dataset = make_dataset(train_files, config.tokens_per_batch, config.max_source_length,
                                 config.max_target_length, training=True, seed=config.seed)
    eval_dataset = make_dataset(eval_files, config.tokens_per_batch, config.max_source_length,
                                config.max_target_length, training=False).take(config.eval_batches).cache()
    # The same batches every epoch; an explicit step count keeps Keras from warning that the
    # validation data "ran out" at the end of each pass.
    validation_steps = max(1, sum(1 for _ in eval_dataset))
    train_dataset, eval_dataset = _shard_batches(train_dataset), _shard_batches(eval_dataset)
    with strategy.scope():
        model = compiled_model(config, vocabulary_size)
    steps_per_epoch = max(1, min(config.steps_per_epoch, train_steps))
    # Checkpoint averaging reads the newest `average_checkpoints` checkpoints: keep at least that many.
    checkpoints = training_callbacks.CheckpointAndResume(checkpoint_dir,
                                                         max_to_keep=max(5, config.average_checkpoints),
                                                         every_steps=config.checkpoint_every_steps)
    restore = [RestoreWarmStart(warm_start.checkpoint)] if warm_start and warm_start.checkpoint else []
    base_step = warm_start.initial_step if restore else 0
    # Keras numbers epochs from `initial_epoch`: a resumed (or warm-started) training continues the epoch
    # numbers of TensorBoard's epoch_* scalars from the step it starts at instead of restarting at 0.
    resumed = checkpoint_steps(checkpoint_dir)
    start_step = resumed[-1][0] if resumed else base_step
    final_step = base_step + train_steps
    # On a terminal Keras draws a progress bar with ETA; elsewhere (logs, CI) it prints a line per epoch,
    # so the monitor logs progress every 30 s instead.
    interactive = sys.stdout.isatty()
    monitor = training_callbacks.TrainingMonitor(final_step, config.max_train_seconds,
                                                 log_every_seconds=0.0 if interactive else 30.0,
                                                 checkpoint_dir=checkpoint_dir)
    # The divergence check comes first: no callback after it sees (or checkpoints) a non-finite step.
    callbacks = [training_callbacks.StopOnNonFiniteLoss()] + restore + [checkpoints, monitor]
    if config.validation_bleu_sentences:
        source_ids, references = read_validation_pairs(eval_files, config.validation_bleu_sentences,
                                                       config.max_source_length)
        callbacks.append(ValidationBleu(source_ids, references, tokenizer_model, config.max_decode_length_a,
                                        config.max_decode_length_b, config.target))
    callbacks += [training_callbacks.StepScalars(model_run_dir, config.log_every_steps),
                  keras.callbacks.TensorBoard(log_dir=model_run_dir, write_graph=False),
                  # The run's configuration (every RunConfig field) in TensorBoard's HPARAMS tab.
                  hparams_api.KerasCallback(model_run_dir, config.training_config())]
    log.info("Training %s parameters for up to %d steps%s on %d replica(s) in %s", f"{model.count_params():,}",
             train_steps, f" or {config.max_train_seconds:.0f} s" if config.max_train_seconds else "",
             strategy.num_replicas_in_sync, policy)
    history = model.fit(
        train_dataset,
        initial_epoch=start_step // steps_per_epoch,
        epochs=math.ceil(final_step / steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        validation_data=eval_dataset.repeat(),
        validation_steps=validation_steps,
        callbacks=callbacks,
        verbose=1 if interactive else 2,
    )
    stats = {
        "steps": int(model.optimizer.iterations.numpy()),
        "initial_step": checkpoints.initial_step or base_step,
        "train_seconds": monitor.train_seconds,
        "elapsed_seconds": monitor.elapsed_seconds(time.time()),
        "target_tokens": monitor.target_tokens,
        "target_tokens_per_sec": monitor.tokens_per_second,
        "loss": history.history.get("loss", [float("nan")])[-1],
        "val_loss": history.history.get("val_loss", [float("nan")])[-1],
        "replicas": strategy.num_replicas_in_sync,
        "dtype_policy": policy,
    }
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer entry point (`Trainer(run_fn="tfx_nmt.models.trainer.run_fn")`); `fn_args` is a
    `tfx_nmt.components.trainer.TrainerFnArgs` (TFX's FnArgs plus `tokenizer_uri`)."""
    config = RunConfig.from_dict(fn_args.custom_config)
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow op of the process.
    strategy = make_strategy(config.replicas, config.strategy)
    chief = is_chief(strategy)
    tokenizer = SentencePieceTokenizer.from_artifact(fn_args.tokenizer_uri)
    tokenizer_model = tokenizer.model_proto
    tokenizer_sha256 = hashlib.sha256(tokenizer_model).hexdigest()
    vocabulary_size = tokenizer.vocabulary_size
    model_config = config.model_config()
    warm_start = None
    if config.warm_start:
        base_model_dir = os.path.dirname(fn_args.base_model) if fn_args.base_model else None
        warm_start = plan_warm_start(base_model_dir, tokenizer_sha256, model_config)
        log.info("Warm start %s: %s", "from " + warm_start.checkpoint if warm_start.checkpoint
                 else "not possible, training from scratch", warm_start.reason)
    run_dir, checkpoint_dir = fn_args.model_run_dir, checkpoint_directory(fn_args)
    if not chief:
        resolver = strategy.cluster_resolver
        worker = f"{resolver.task_type}-{resolver.task_id}"
        run_dir, checkpoint_dir = os.path.join(run_dir, worker), os.path.join(checkpoint_dir, worker)
    started = time.time()
    model, stats = train(config, fn_args.train_files, fn_args.eval_files, vocabulary_size, run_dir,
                         fn_args.train_steps, checkpoint_dir, tokenizer_model, strategy=strategy, warm_start=warm_start)
    stats["checkpoint_dir"] = checkpoint_dir
    stats["tokenizer_sha256"] = tokenizer_sha256
    stats["warm_start"] = warm_start.as_dict() if warm_start else None
    stats["hardware"] = training_hardware(strategy)
    stats["finished_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    log.info("Trained %d steps in %.0f s, %.0f target tokens/s, loss %.3f, val_loss %.3f", stats["steps"],
             stats["train_seconds"], stats["target_tokens_per_sec"], stats["loss"], stats["val_loss"])
    # The exported model, and the Format-Checkpoint a warm start continues from, get the averaged weights
    # (the optimizer state stays the final one).
    stats["averaged_checkpoint_steps"] = None
    if config.average_checkpoints > 1:
        stats["averaged_checkpoint_steps"] = average_last_checkpoints(
            model, checkpoint_dir, config.average_checkpoints, scratch=compiled_model(config, vocabulary_size))
    log.info("Exporting the serving SavedModel (tracing tokenization, beam search and greedy decoding)")
    exported = float32_copy(model, config)
    module = TranslatorServingModule(exported, tokenizer, config.max_decode_length_a,
                                     config.max_decode_length_b, config.beam_size,
                                     config.length_penalty_alpha, source_language=config.source,
                                     target_language=config.target)
    if not chief:
        with tempfile.TemporaryDirectory() as scratch:
            export_serving_model(module, os.path.join(scratch, "serving"), config.model_name)
            write_model_checkpoint(model, scratch, tokenizer_sha256, model_config)
        log.info("Worker done; the chief exports the model")
        return
    if tf.io.gfile.exists(fn_args.serving_model_dir):
        tf.io.gfile.rmtree(fn_args.serving_model_dir)
    export_serving_model(module, fn_args.serving_model_dir, config.model_name)
    model_dir = os.path.dirname(fn_args.serving_model_dir)
    write_model_checkpoint(model, model_dir, tokenizer_sha256, model_config)
    ctranslate2_dir = os.path.join(model_dir, CTRANSLATE2_MODEL_DIR)
    if tf.io.gfile.exists(ctranslate2_dir):
        tf.io.gfile.rmtree(ctranslate2_dir)
    export_ctranslate2(exported, tokenizer_model, module.translation_settings(), ctranslate2_dir)
    stats["wall_seconds"] = time.time() - started
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, TRAINING_STATS_FILE), "w") as f:
        json.dump(stats, f, indent=2)
    log.info("Exported the serving model to %s", fn_args.serving_model_dir)
