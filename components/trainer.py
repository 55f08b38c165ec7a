"""Trainer: TFX's standard Trainer with the tokenizer as an input of its own.

TFX 1.16's `Trainer` takes preprocessing only as a `TransformGraph` (its `TrainerSpec` checks a
channel's type by name), which the SubwordTokenizer's model is not. This component is that Trainer with
`transform_graph` replaced by `tokenizer` (a `SubwordModel`): same parameters, same outputs, and the
standard executor, which calls `run_fn` with `TrainerFnArgs`, TFX's FnArgs plus `tokenizer_uri`.
"""
from typing import Any, Dict, List, Optional, Union

import attr
from tfx import types
from tfx.components.trainer import executor as trainer_executor
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx.dsl.components.base import base_component, executor_spec
from tfx.orchestration import data_types
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec
from tfx.utils import json_utils

from tfx_nmt.components.artifacts import SubwordModel

TOKENIZER_KEY = "tokenizer"


@attr.s
class TrainerFnArgs(FnArgs):
    """TFX's FnArgs plus `tokenizer_uri`, the directory of the Trainer's `tokenizer` input."""

    tokenizer_uri = attr.ib(type=str, default=None)


class TrainerSpec(ComponentSpec):
    """TFX's TrainerSpec with the `tokenizer` input in place of `transform_graph`."""

    PARAMETERS = standard_component_specs.TrainerSpec.PARAMETERS
    INPUTS = {
        **{key: channel for key, channel in standard_component_specs.TrainerSpec.INPUTS.items()
           if key != standard_component_specs.TRANSFORM_GRAPH_KEY},
        TOKENIZER_KEY: ChannelParameter(type=SubwordModel),
    }
    OUTPUTS = standard_component_specs.TrainerSpec.OUTPUTS
    TYPE_ANNOTATION = standard_component_specs.TrainerSpec.TYPE_ANNOTATION


class Executor(trainer_executor.GenericExecutor):
    """TFX's generic Trainer executor; `run_fn` gets `TrainerFnArgs`."""

    def _GetFnArgs(self, input_dict: Dict[str, List[types.Artifact]],
                   output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> TrainerFnArgs:
        fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
        return TrainerFnArgs(**attr.asdict(fn_args, recurse=False),
                             tokenizer_uri=artifact_utils.get_single_uri(input_dict[TOKENIZER_KEY]))


class Trainer(base_component.BaseComponent):
    """Trains with `run_fn` on `examples`, with the `tokenizer` it reads through `fn_args.tokenizer_uri`.

    Args:
        examples: Examples channel, the tokenized splits.
        tokenizer: SubwordModel channel, the tokenizer the examples were tokenized with.
        run_fn: import path of the training function (`run_fn(fn_args: TrainerFnArgs)`).
        train_args / eval_args: TrainArgs / EvalArgs (or RuntimeParameters holding their JSON), as TFX's Trainer.
        base_model: optional Model channel (warm start).
        custom_config: a dict passed to `run_fn` as `fn_args.custom_config`.

    Outputs: `model` (Model) and `model_run` (ModelRun), as TFX's Trainer.
    """

    SPEC_CLASS = TrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, examples: types.BaseChannel, tokenizer: types.BaseChannel,
                 run_fn: Union[str, data_types.RuntimeParameter],
                 train_args: Union[trainer_pb2.TrainArgs, data_types.RuntimeParameter],
                 eval_args: Union[trainer_pb2.EvalArgs, data_types.RuntimeParameter],
                 base_model: Optional[types.BaseChannel] = None,
                 custom_config: Optional[Dict[str, Any]] = None):
        spec = TrainerSpec(
            examples=examples,
            tokenizer=tokenizer,
            base_model=base_model,
            train_args=train_args,
            eval_args=eval_args,
            run_fn=run_fn,
            custom_config=json_utils.dumps(custom_config),
            model=types.Channel(type=standard_artifacts.Model),
            model_run=types.Channel(type=standard_artifacts.ModelRun),
        )
        super().__init__(spec=spec)
