"""create_pipeline's components carry the ids and output keys that `tfx_nmt.contract` names."""
from pipelines import component_ids
from tfx_nmt import contract
from tfx_nmt.config import RunConfig
from tfx_nmt.pipeline.pipeline import create_pipeline, pipeline_name


def test_component_ids_and_output_keys_are_the_contracts(tmp_path):
    pipeline = create_pipeline(RunConfig(warm_start=True), "p", str(tmp_path / "root"), str(tmp_path / "data"),
                               str(tmp_path / "serving"))
    components = {c.id: c for c in pipeline.components}
    assert [c.id for c in pipeline.components] == component_ids()
    assert set(components) == {
        contract.EXAMPLE_GEN, contract.STATISTICS_GEN, contract.SCHEMA_GEN, contract.EXAMPLE_VALIDATOR,
        contract.TEXT_CLEANER, contract.SUBWORD_TOKENIZER, contract.LATEST_BLESSED_MODEL_RESOLVER,
        contract.TRAINER, contract.EVALUATOR, contract.MODEL_CARD_GEN, contract.PUSHER, contract.RUN_REPORT}
    outputs = {
        contract.EXAMPLE_GEN: {contract.EXAMPLES},
        contract.TEXT_CLEANER: {contract.CLEANED_EXAMPLES, contract.CLEANING_REPORT},
        contract.SUBWORD_TOKENIZER: {contract.TOKENIZED_EXAMPLES, contract.TOKENIZER},
        contract.TRAINER: {contract.MODEL, contract.MODEL_RUN},
        contract.EVALUATOR: {contract.EVALUATION, contract.BLESSING},
        contract.PUSHER: {contract.PUSHED_MODEL},
        contract.MODEL_CARD_GEN: {contract.MODEL_CARD},
        contract.RUN_REPORT: {contract.REPORT},
        contract.LATEST_BLESSED_MODEL_RESOLVER: {contract.MODEL},
    }
    for component_id, keys in outputs.items():
        assert keys <= set(components[component_id].outputs), component_id


def test_pipeline_name_is_per_language_pair():
    assert pipeline_name(RunConfig(source="en", target="fr")) == "tfx-nmt-en-fr"
