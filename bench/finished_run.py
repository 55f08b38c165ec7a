"""The trained Keras model of a finished run, rebuilt in Python from its Model artifact.

The serving SavedModel holds the decoding graph, not a Keras model. Benchmarks (and the tests of decoding)
that need the Keras model itself (to decode with and without the decoder cache, to average checkpoints)
rebuild it from the run's `run_summary.json`: the RunConfig in `config`, the Trainer's Model artifact,
whose `Format-Checkpoint` (`tfx_nmt.models.warm_start.write_model_checkpoint`) holds the exported weights,
and the SubwordTokenizer artifact's SentencePiece model. A helper of the bench scripts, not of the product:
only a finished `tfx-nmt run` has a run summary.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict

import tensorflow as tf

from tfx_nmt import contract
from tfx_nmt.config import RunConfig
from tfx_nmt.models.trainer import compiled_model, float32_copy
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.models.warm_start import CHECKPOINT_PREFIX, checkpoint_dir
from tfx_nmt.text.subword import SubwordEncoder
from tfx_nmt.text.tokenizers import read_model


@dataclasses.dataclass
class RestoredRun:
    """A finished run's model, SentencePiece model proto (bytes) and RunConfig."""

    model: TransformerTranslator
    tokenizer_model: bytes
    config: RunConfig


def read_summary(output_dir: str) -> Dict:
    """`<output_dir>/run_summary.json`.

    Raises:
        FileNotFoundError: when the output dir holds no finished run.
    """
    path = os.path.join(output_dir, contract.RUN_SUMMARY_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: is {output_dir} the --output-dir of a finished tfx-nmt run?")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def restore_run_model(output_dir: str) -> RestoredRun:
    """Rebuilds the model the run's Trainer exported, with its final weights, in float32 as the Trainer
    exports it (`trainer.float32_copy`) whatever the run's training precision: a bf16-trained model
    restored under its training policy would compute its keras layers in bfloat16, unlike the pushed
    SavedModel and CTranslate2 model.

    Raises:
        FileNotFoundError: no run summary, or the run has no trained model.
        AssertionError: the checkpoint does not match the model's variables.
    """
    summary = read_summary(output_dir)
    config = RunConfig.from_dict(summary["config"])
    artifacts = summary["artifacts"]
    model_key = contract.artifact_key(contract.TRAINER, contract.MODEL)
    if model_key not in artifacts:
        raise FileNotFoundError(f"the run in {output_dir} has no Trainer model")
    tokenizer_model = read_model(artifacts[contract.artifact_key(contract.SUBWORD_TOKENIZER, contract.TOKENIZER)])
    model = compiled_model(config, SubwordEncoder(tokenizer_model).vocabulary_size)
    # Keras 3 layers kept in Python lists (the encoder and decoder stacks) are not children of the model
    # in TensorFlow's checkpoint graph; the checkpoint reaches their variables through the optimizer's
    # `_trainable_variables`. So the model is compiled as the Trainer compiles it, its optimizer built over
    # the model's variables in the Trainer's order, and restored with it.
    model.optimizer.build(model.trainable_variables)
    prefix = os.path.join(checkpoint_dir(artifacts[model_key]), CHECKPOINT_PREFIX)
    status = tf.train.Checkpoint(model=model, optimizer=model.optimizer).read(prefix)
    status.assert_existing_objects_matched()
    return RestoredRun(float32_copy(model, config), tokenizer_model, config)
