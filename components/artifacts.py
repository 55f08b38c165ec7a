"""Custom artifact types of the pipeline (the standard types cover the rest)."""
from tfx.types.artifact import Artifact


class CleaningReport(Artifact):
    """`cleaning_report.json`: per split, input, kept and dropped counts by reason; `input` equals
    `kept` plus the sum of `dropped`. `rejected_samples.json`: per split and reason, the first 20
    rejected pairs by line number, as read."""

    # Kubeflow Pipelines v2 needs custom type names of the form `<namespace>.<Name>` (its schema title).
    TYPE_NAME = "tfx_nmt.CleaningReport"


class SubwordModel(Artifact):
    """The SubwordTokenizer's model directory: `sentencepiece.model` (the serialized SentencePiece
    ModelProto the serving graph embeds), `sentencepiece.vocab` (one piece a line) and `tokenizer.json`
    (vocabulary size, special ids, SHA-256 of the model). Read with `tfx_nmt.text.tokenizers`."""

    TYPE_NAME = "tfx_nmt.SubwordModel"


class ModelCard(Artifact):
    """The ModelCardGen's `model_card.md`: the model card of a run's model, built before the push from the
    evaluator's outputs; the Pusher stages it into the pushed version's `assets.extra/`."""

    TYPE_NAME = "tfx_nmt.ModelCard"


class RunReport(Artifact):
    """The RunReport's `report.html`: the run report, one self-contained page (`tfx_nmt.reporting.report`)."""

    TYPE_NAME = "tfx_nmt.RunReport"
