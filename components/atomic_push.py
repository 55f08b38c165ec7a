"""An atomic filesystem push for the standard TFX Pusher.

TFX 1.16's Pusher executor copies the model file by file straight into `<base_directory>/<version>/`
(saved_model.pb last). TF Serving polls the base directory and can see that version directory before
its variables and assets are complete, and a copy that fails half-way leaves a broken version behind.
`AtomicPushExecutor` runs the standard executor unchanged but points it at a staging directory inside
the base directory, then renames the finished version directory into place: a version appears complete
or not at all. The staging directory's name is not an integer, so TF Serving never loads from it, and
it is removed whatever happens.

`AtomicPusher` is the standard Pusher with this executor and one more input, `model_card` (the
ModelCardGen's ModelCard, built from the evaluator's outputs before the push): the executor copies its
`model_card.md` into the staged version's `assets.extra/` before the rename, so the card appears with the
version, never after it. The blessings are the standard executor's to check: with `infra_blessing` (an
InfraValidator's) as well as `model_blessing`, a model is pushed only when both bless it.

The rename is atomic on POSIX filesystems (local disks, NFS). Object stores such as `gs://` have no
atomic directory rename; there the push is as atomic as TFX's own.

Use `AtomicPusher(...)`, or `tfx.components.Pusher(..., custom_executor_spec=ATOMIC_PUSH_EXECUTOR_SPEC)`
without a model card.
"""
from __future__ import annotations

import os
import uuid
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components.pusher import component as pusher_component
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import json_utils, proto_utils

from tfx_nmt.components.artifacts import ModelCard
from tfx_nmt.contract import ASSETS_EXTRA_DIR, MODEL_CARD, MODEL_CARD_FILE

# Custom properties the standard executor sets on the PushedModel artifact.
PUSHED_KEY = "pushed"
PUSHED_DESTINATION_KEY = "pushed_destination"
PUSHED_VERSION_KEY = "pushed_version"
STAGING_PREFIX = ".staging-"


class AtomicPushExecutor(pusher_executor.Executor):
    """The standard Pusher executor, staging the version directory and renaming it into place."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        """Pushes a blessed model to `<base_directory>/<version>/` atomically (see the module docstring).

        Args/outputs as the standard executor's `Do`, plus the optional input `model_card`, whose
        `model_card.md` goes into the version's `assets.extra/`. The PushedModel's `pushed_destination`
        is the final version directory.

        Raises:
            Whatever the copy raises (I/O errors); no version directory and no staging directory is
            left behind.
        """
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            super().Do(input_dict, output_dict, exec_properties)
            return
        base_directory = destination.filesystem.base_directory
        staging_directory = os.path.join(base_directory, STAGING_PREFIX + uuid.uuid4().hex)
        destination.filesystem.base_directory = staging_directory
        staged_properties = dict(exec_properties)
        staged_properties[standard_component_specs.PUSH_DESTINATION_KEY] = proto_utils.proto_to_json(destination)
        try:
            super().Do(input_dict, output_dict, staged_properties)
            model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
            if model_push.get_int_custom_property(PUSHED_KEY) != 1:
                return
            version = model_push.get_string_custom_property(PUSHED_VERSION_KEY)
            if input_dict.get(MODEL_CARD):
                _stage_model_card(artifact_utils.get_single_instance(input_dict[MODEL_CARD]),
                                  os.path.join(staging_directory, version))
            serving_path = os.path.join(base_directory, version)
            if fileio.exists(serving_path):
                # As the standard executor: a version that exists was pushed already; never overwrite it.
                logging.info("Destination directory %s already exists, skipping current push.", serving_path)
            else:
                fileio.rename(os.path.join(staging_directory, version), serving_path)
                logging.info("Model renamed into place at %s.", serving_path)
            model_push.set_string_custom_property(PUSHED_DESTINATION_KEY, serving_path)
        finally:
            if fileio.exists(staging_directory):
                fileio.rmtree(staging_directory)


def _stage_model_card(card: types.Artifact, staged_version: str) -> None:
    """Copies the ModelCard's `model_card.md` to `<staged_version>/assets.extra/model_card.md`."""
    directory = os.path.join(staged_version, ASSETS_EXTRA_DIR)
    fileio.makedirs(directory)
    fileio.copy(os.path.join(card.uri, MODEL_CARD_FILE), os.path.join(directory, MODEL_CARD_FILE))
    logging.info("Model card %s staged into %s.", card.uri, directory)


ATOMIC_PUSH_EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(AtomicPushExecutor)


class AtomicPusherSpec(standard_component_specs.PusherSpec):
    """TFX's PusherSpec plus the optional `model_card` input (a ModelCard)."""

    INPUTS = {**standard_component_specs.PusherSpec.INPUTS,
              MODEL_CARD: ChannelParameter(type=ModelCard, optional=True)}


class AtomicPusher(pusher_component.Pusher):
    """TFX's Pusher with `AtomicPushExecutor` and the model card staged into the version (module docstring).

    Args:
        model: the Trainer's Model.
        model_blessing: the evaluator's ModelBlessing.
        push_destination: where to push (a filesystem base directory for the atomic rename).
        infra_blessing: an InfraValidator's InfraBlessing; when given, both blessings are needed.
        model_card: the ModelCardGen's ModelCard, copied into the pushed version's `assets.extra/`.
    """

    SPEC_CLASS = AtomicPusherSpec
    EXECUTOR_SPEC = ATOMIC_PUSH_EXECUTOR_SPEC

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 push_destination: pusher_pb2.PushDestination, infra_blessing: Optional[types.BaseChannel] = None,
                 model_card: Optional[types.BaseChannel] = None):
        spec = AtomicPusherSpec(
            model=model, model_blessing=model_blessing, infra_blessing=infra_blessing, model_card=model_card,
            push_destination=push_destination, custom_config=json_utils.dumps(None),
            pushed_model=types.Channel(type=standard_artifacts.PushedModel))
        base_component.BaseComponent.__init__(self, spec=spec)
