"""Where the Trainer checkpoints: a place a re-run of the same training finds again."""

from tfx_nmt.components.trainer import TrainerFnArgs
from tfx_nmt.config import RunConfig
from tfx_nmt.models.trainer import checkpoint_directory


def _fn_args(execution_id, **overrides):
    values = dict(
        train_files=["/out/pipeline_root/SubwordTokenizer/tokenized_examples/6/Split-train/*"],
        eval_files=["/out/pipeline_root/SubwordTokenizer/tokenized_examples/6/Split-eval/*"],
        tokenizer_uri="/out/pipeline_root/SubwordTokenizer/tokenizer/6",
        custom_config=RunConfig().training_config(), train_steps=150, eval_steps=4,
        model_run_dir=f"/out/pipeline_root/Trainer/model_run/{execution_id}")
    values.update(overrides)
    return TrainerFnArgs(**values)


def test_a_rerun_of_the_same_training_finds_the_same_checkpoints():
    first = checkpoint_directory(_fn_args(7))
    assert first.startswith("/out/pipeline_root/Trainer/checkpoints/") and len(first.rsplit("/", 1)[1]) == 16
    assert checkpoint_directory(_fn_args(12)) == first  # A new execution of the same training.
    # Anything that changes the training gets its own directory.
    assert checkpoint_directory(_fn_args(12, train_steps=300)) != first
    assert checkpoint_directory(_fn_args(12, custom_config=RunConfig(d_model=128).training_config())) != first
    assert checkpoint_directory(_fn_args(12, tokenizer_uri="/out/pipeline_root/SubwordTokenizer/tokenizer/9")) \
        != first
