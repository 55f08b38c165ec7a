"""The TFX DAG, built by one pure function that the local runner and the Kubeflow compiler both call.

ParallelCorpusExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> TextCleaner ->
SubwordTokenizer -> Trainer -> (Resolver: latest blessed model) -> TranslationEvaluator -> ModelCardGen ->
[InfraValidator] -> Pusher -> RunReport

With `warm_start`, the resolver's latest blessed model is also the Trainer's `base_model`. With a
`serving_spec` (Kubeflow, `compile-kubeflow --infra-validate`), TFX's InfraValidator loads and queries the
model in a TF Serving server after the evaluator, and the Pusher needs its blessing too.
"""
from __future__ import annotations

from typing import List, Optional

from tfx import v1 as tfx
from ml_metadata.proto import metadata_store_pb2

from tfx_nmt.components.atomic_push import AtomicPusher
from tfx_nmt.components.cleaning import CleaningRules, check_languages
from tfx_nmt.components.corpus import extra_test_split_patterns
from tfx_nmt.components.infra_validator import InfraValidator
from tfx_nmt.components.parallel_corpus_example_gen import ParallelCorpusExampleGen
from tfx_nmt.components.subword_tokenizer import SubwordTokenizer
from tfx_nmt.components.text_cleaner import TextCleaner
from tfx_nmt.components.trainer import Trainer
from tfx_nmt.components.translation_evaluator import TranslationEvaluator
from tfx_nmt import contract
from tfx_nmt.config import RunConfig
from tfx_nmt.reporting.document_components import ModelCardGen, RunReport
from tfx_nmt.serving.clients import DEFAULT_SIGNATURE

RUN_FN = "tfx_nmt.models.trainer.run_fn"
# Test pairs the InfraValidator sends to `serving_default`, in one PredictRequest.
INFRA_VALIDATION_EXAMPLES = 4


def pipeline_name(config: RunConfig) -> str:
    """`tfx-nmt-<source>-<target>`: one ML Metadata pipeline per language pair."""
    return f"tfx-nmt-{config.source}-{config.target}"


def create_pipeline(
    config: RunConfig,
    pipeline_name: str,
    pipeline_root: str,
    data_dir,
    serving_dir: str,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
    beam_pipeline_args: Optional[List[str]] = None,
    train_args=None,
    min_bleu=None,
    serving_spec: Optional[tfx.proto.ServingSpec] = None,
) -> tfx.dsl.Pipeline:
    """Builds the translation pipeline.

    Args:
        config: the run's knobs.
        pipeline_name: name in ML Metadata and on Kubeflow.
        pipeline_root: where component outputs are written (local path or `gs://...`).
        data_dir: corpus directory, a string or a `tfx.dsl.experimental.RuntimeParameter`: ExampleGen's
            `input_base`, under which `config.split_patterns()` select each split's files (and span). When
            it is a string, the further test sets found there now (`corpus.extra_test_split_patterns`:
            every `test_<name>` pair beside the test split's files) are splits too, scored by the evaluator
            beside the test split; a RuntimeParameter's directory is not known until the run, so it gets
            only those that `config.extra_test_sets` names (which, when set, replace the ones found).
        serving_dir: the Pusher's base directory; versions land in `<serving_dir>/<version>/`.
        metadata_connection_config: ML Metadata store (None on Kubeflow, which provides its own).
        beam_pipeline_args: options of every Beam pipeline (runner, workers).
        train_args: the Trainer's TrainArgs; default `{"splits": ["train"], "num_steps": config.train_steps}`.
            On Kubeflow a RuntimeParameter holding the whole TrainArgs as JSON text
            (`{"splits": ["train"], "num_steps": 2000}`): TFX 1.16 takes proto-valued runtime
            parameters only that way (see `tfx.dsl.experimental.RuntimeParameter`).
        min_bleu: overrides `config.min_bleu` (a RuntimeParameter on Kubeflow).
        serving_spec: when given, TFX's InfraValidator (`components.infra_validator`) runs after the
            TranslationEvaluator with this model server (`kubeflow.compile.infra_validator_serving_spec`),
            in LOAD_AND_QUERY mode: TF Serving loads the model, replaying its warm-up requests
            (`models.warmup`) before it reports the version available, then `serving_default` gets one
            request of INFRA_VALIDATION_EXAMPLES pairs of the cleaned test split, built by TFX (its
            PredictRequests carry serialized tf.Examples as the `text` input, which the graph translates
            like any other bytes). The Pusher then pushes only a model that both blessed.

    Returns:
        A tfx.dsl.Pipeline with caching enabled; its components carry the ids of `tfx_nmt.contract`.

    Raises:
        ConfigError: with `config.lid`, a language (`source`, `target`, `lid_languages`) that language
            identification does not know.
    """
    rules = CleaningRules.from_config(config)
    check_languages(rules)
    split_patterns = config.split_patterns()
    if config.extra_test_sets:
        split_patterns.update(config.extra_test_split_patterns())
    elif isinstance(data_dir, str):
        split_patterns.update(extra_test_split_patterns(data_dir, config.test_pattern, config.source, config.target))
    example_gen = ParallelCorpusExampleGen(
        input_base=data_dir,
        split_patterns=split_patterns,
        source_language=config.source,
        target_language=config.target,
        max_train_pairs=config.max_train_pairs,
        max_eval_pairs=config.max_eval_pairs,
        max_test_pairs=config.max_test_pairs,
        on_bad_line=config.on_bad_line,
    ).with_id(contract.EXAMPLE_GEN)
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs[contract.EXAMPLES]).with_id(contract.STATISTICS_GEN)
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"]).with_id(
        contract.SCHEMA_GEN)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]).with_id(
        contract.EXAMPLE_VALIDATOR)
    text_cleaner = TextCleaner(
        examples=example_gen.outputs[contract.EXAMPLES],
        anomalies=example_validator.outputs["anomalies"],
        max_tokens=rules.max_tokens,
        max_length_ratio=rules.max_length_ratio,
        drop_copies=rules.drop_copies,
        drop_test_overlap=rules.drop_test_overlap,
        deduplicate=rules.deduplicate,
        lid=rules.lid,
        source_language=rules.source_language,
        target_language=rules.target_language,
        lid_min_probability=rules.lid_min_probability,
        lid_min_chars=rules.lid_min_chars,
        lid_languages=",".join(rules.lid_languages),
    ).with_id(contract.TEXT_CLEANER)
    tokenizer = SubwordTokenizer(
        examples=text_cleaner.outputs[contract.CLEANED_EXAMPLES],
        vocabulary_size=config.vocabulary_size,
        model_type=config.tokenizer_model_type,
    ).with_id(contract.SUBWORD_TOKENIZER)
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id(contract.LATEST_BLESSED_MODEL_RESOLVER)
    if train_args is None:
        train_args = tfx.proto.TrainArgs(splits=["train"], num_steps=config.train_steps)
    trainer = Trainer(
        run_fn=RUN_FN,
        examples=tokenizer.outputs[contract.TOKENIZED_EXAMPLES],
        tokenizer=tokenizer.outputs[contract.TOKENIZER],
        base_model=model_resolver.outputs[contract.MODEL] if config.warm_start else None,
        train_args=train_args,
        eval_args=tfx.proto.EvalArgs(splits=["eval"], num_steps=config.eval_batches),
        custom_config=config.training_config(),
    ).with_id(contract.TRAINER)
    evaluator = TranslationEvaluator(
        examples=text_cleaner.outputs[contract.CLEANED_EXAMPLES],
        model=trainer.outputs[contract.MODEL],
        baseline_model=model_resolver.outputs[contract.MODEL],
        min_bleu=config.min_bleu if min_bleu is None else min_bleu,
        max_bleu_drop=config.max_bleu_drop,
        blessing_rule=config.blessing_rule,
        max_p=config.max_p,
        batch_size=config.decode_batch_size,
        target_language=config.target,
    ).with_id(contract.EVALUATOR)
    run_inputs = dict(examples=example_gen.outputs[contract.EXAMPLES],
                      cleaned_examples=text_cleaner.outputs[contract.CLEANED_EXAMPLES],
                      cleaning_report=text_cleaner.outputs[contract.CLEANING_REPORT],
                      model_run=trainer.outputs[contract.MODEL_RUN], evaluation=evaluator.outputs[contract.EVALUATION],
                      config=config.training_config())
    model_card = ModelCardGen(**run_inputs).with_id(contract.MODEL_CARD_GEN)
    infra_validator = None
    if serving_spec is not None:
        infra_validator = InfraValidator(
            model=trainer.outputs[contract.MODEL],
            examples=text_cleaner.outputs[contract.CLEANED_EXAMPLES],
            serving_spec=serving_spec,
            validation_spec=tfx.proto.ValidationSpec(max_loading_time_seconds=600, num_tries=3),
            request_spec=tfx.proto.RequestSpec(
                tensorflow_serving=tfx.proto.TensorFlowServingRequestSpec(signature_names=[DEFAULT_SIGNATURE]),
                split_name="test", num_examples=INFRA_VALIDATION_EXAMPLES),
        ).with_id(contract.INFRA_VALIDATOR)
        # After the evaluator: a cluster's model server is started only for a model that was scored.
        infra_validator.add_upstream_node(evaluator)
    pusher = AtomicPusher(
        model=trainer.outputs[contract.MODEL],
        model_blessing=evaluator.outputs[contract.BLESSING],
        infra_blessing=infra_validator.outputs[contract.INFRA_BLESSING] if infra_validator else None,
        model_card=model_card.outputs[contract.MODEL_CARD],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)),
    ).with_id(contract.PUSHER)
    run_report = RunReport(pushed_model=pusher.outputs[contract.PUSHED_MODEL], **run_inputs).with_id(
        contract.RUN_REPORT)
    components = [example_gen, statistics_gen, schema_gen, example_validator, text_cleaner, tokenizer,
                  model_resolver, trainer, evaluator, model_card, *([infra_validator] if infra_validator else []),
                  pusher, run_report]
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
