"""The TFX Trainer's entry point: `run_fn(fn_args)` trains the Transformer and exports the serving model.

Wiring: `fn_args.custom_config` is `RunConfig.training_config()`; `fn_args.transform_output` is the
SubwordTokenizer's tokenizer artifact; `fn_args.train_files` / `eval_files` are the tokenized Examples.
Checkpoints (`checkpoints/`), TensorBoard logs (`train/`, `validation/`) and `training_stats.json` go to
`fn_args.model_run_dir`; the SavedModel to `fn_args.serving_model_dir`.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time

import keras
import tensorflow as tf

from tfx_nmt.components.subword_tokenizer import read_tokenizer_model
from tfx_nmt.config import RunConfig
from tfx_nmt.models import callbacks as training_callbacks
from tfx_nmt.models.devices import make_strategy
from tfx_nmt.models.export import TranslatorServingModule, export_serving_model
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.schedules import InverseSquareRootSchedule
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.models.validation_bleu import ValidationBleu, read_validation_pairs
from tfx_nmt.text.subword import SubwordEncoder

STATS_FILE = "training_stats.json"
log = logging.getLogger(__name__)


def build_model(config: RunConfig, vocabulary_size: int) -> TransformerTranslator:
    """A built TransformerTranslator of `config`'s shape (variables created in the current strategy scope)."""
    model = TransformerTranslator(
        vocabulary_size=vocabulary_size,
        d_model=config.d_model,
        num_encoder_layers=config.num_encoder_layers,
        num_decoder_layers=config.num_decoder_layers,
        num_heads=config.num_heads,
        ff_dim=config.ff_dim,
        dropout=config.dropout,
        max_source_length=config.max_source_length,
        max_target_length=config.max_target_length,
        normalize_first=config.normalize_first,
        label_smoothing=config.label_smoothing,
    )
    model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    return model


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """Adam (beta2 0.98, epsilon 1e-9, Vaswani et al. 2017 section 5.3) with warm-up and 1/sqrt decay."""
    return keras.optimizers.Adam(
        learning_rate=InverseSquareRootSchedule(config.learning_rate, config.warmup_steps),
        beta_1=0.9, beta_2=0.98, epsilon=1e-9)


def train(config: RunConfig, train_files, eval_files, vocabulary_size: int, model_run_dir: str,
          train_steps: int, tokenizer_model: bytes):
    """Builds, compiles and fits the model under MirroredStrategy (`tokenizer_model` detokenizes the
    translations of the validation BLEU).

    Returns:
        (model, stats dict with `steps`, `initial_step`, `train_seconds`, `target_tokens`,
        `target_tokens_per_sec`, final `loss` and `val_loss`).
    """
    strategy = make_strategy(config.replicas)
    keras.utils.set_random_seed(config.seed)
    train_dataset = make_dataset(train_files, config.tokens_per_batch, config.max_source_length,
                                 config.max_target_length, training=True, seed=config.seed)
    eval_dataset = make_dataset(eval_files, config.tokens_per_batch, config.max_source_length,
                                config.max_target_length, training=False).take(config.eval_batches)
    with strategy.scope():
        model = build_model(config, vocabulary_size)
        model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
    steps_per_epoch = max(1, min(config.steps_per_epoch, train_steps))
    checkpoints = training_callbacks.CheckpointAndResume(os.path.join(model_run_dir, "checkpoints"))
    # On a terminal Keras draws a progress bar with ETA; elsewhere (logs, CI) it prints a line per epoch,
    # so the monitor logs progress every 30 s instead.
    interactive = sys.stdout.isatty()
    monitor = training_callbacks.TrainingMonitor(train_steps, config.max_train_seconds,
                                                 log_every_seconds=0.0 if interactive else 30.0)
    callbacks = [checkpoints, monitor]
    if config.validation_bleu_sentences:
        source_ids, references = read_validation_pairs(eval_files, config.validation_bleu_sentences,
                                                       config.max_source_length)
        callbacks.append(ValidationBleu(source_ids, references, tokenizer_model, config.max_decode_length_a,
                                        config.max_decode_length_b))
    callbacks.append(keras.callbacks.TensorBoard(log_dir=model_run_dir, write_graph=False))
    log.info("Training %s parameters for up to %d steps%s on %d replica(s)", f"{model.count_params():,}",
             train_steps, f" or {config.max_train_seconds:.0f} s" if config.max_train_seconds else "",
             strategy.num_replicas_in_sync)
    history = model.fit(
        train_dataset,
        epochs=math.ceil(train_steps / steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        validation_data=eval_dataset,
        callbacks=callbacks,
        verbose=1 if interactive else 2,
    )
    stats = {
        "steps": int(model.optimizer.iterations.numpy()),
        "initial_step": checkpoints.initial_step,
        "train_seconds": monitor.train_seconds,
        "target_tokens": monitor.target_tokens,
        "target_tokens_per_sec": monitor.tokens_per_second,
        "loss": history.history.get("loss", [float("nan")])[-1],
        "val_loss": history.history.get("val_loss", [float("nan")])[-1],
        "replicas": strategy.num_replicas_in_sync,
    }
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer entry point (`Trainer(run_fn="tfx_nmt.models.trainer.run_fn")`)."""
    config = RunConfig.from_dict(fn_args.custom_config)
    tokenizer_model = read_tokenizer_model(fn_args.transform_output)
    vocabulary_size = SubwordEncoder(tokenizer_model).vocabulary_size
    started = time.time()
    model, stats = train(config, fn_args.train_files, fn_args.eval_files, vocabulary_size,
                         fn_args.model_run_dir, fn_args.train_steps, tokenizer_model)
    log.info("Trained %d steps in %.0f s, %.0f target tokens/s, loss %.3f, val_loss %.3f", stats["steps"],
             stats["train_seconds"], stats["target_tokens_per_sec"], stats["loss"], stats["val_loss"])
    log.info("Exporting the serving SavedModel (tracing tokenization and greedy decoding)")
    module = TranslatorServingModule(model, tokenizer_model, config.max_decode_length_a,
                                     config.max_decode_length_b)
    if tf.io.gfile.exists(fn_args.serving_model_dir):
        tf.io.gfile.rmtree(fn_args.serving_model_dir)
    export_serving_model(module, fn_args.serving_model_dir)
    stats["wall_seconds"] = time.time() - started
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, STATS_FILE), "w") as f:
        json.dump(stats, f, indent=2)
    log.info("Exported the serving model to %s", fn_args.serving_model_dir)
