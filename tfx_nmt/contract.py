"""The artifact contract between the pipeline's components and their readers (run summary, report, model
card, benchmarks, tests): component ids, output keys and the file names inside artifacts and the output
directory. Every module names these through here; none retypes them.
"""
import re

# Component ids in DAG order, as `create_pipeline` names them: ML Metadata node names, Kubeflow task names
# and directories under the pipeline root.
EXAMPLE_GEN = "ParallelCorpusExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
TEXT_CLEANER = "TextCleaner"
SUBWORD_TOKENIZER = "SubwordTokenizer"
LATEST_BLESSED_MODEL_RESOLVER = "latest_blessed_model_resolver"
TRAINER = "Trainer"
EVALUATOR = "TranslationEvaluator"
INFRA_VALIDATOR = "InfraValidator"  # only in a pipeline compiled with `compile-kubeflow --infra-validate`
MODEL_CARD_GEN = "ModelCardGen"
PUSHER = "Pusher"
RUN_REPORT = "RunReport"

# Output keys (`component.outputs[key]`, ML Metadata event paths) that other components and readers use.
EXAMPLES = "examples"  # ParallelCorpusExampleGen
CLEANED_EXAMPLES = "cleaned_examples"  # TextCleaner
CLEANING_REPORT = "report"  # TextCleaner
TOKENIZED_EXAMPLES = "tokenized_examples"  # SubwordTokenizer
TOKENIZER = "tokenizer"  # SubwordTokenizer
MODEL = "model"  # Trainer, and the resolver's latest blessed model
MODEL_RUN = "model_run"  # Trainer: TensorBoard logs and TRAINING_STATS_FILE
EVALUATION = "evaluation"  # TranslationEvaluator
BLESSING = "blessing"  # TranslationEvaluator
INFRA_BLESSING = "blessing"  # InfraValidator
MODEL_CARD = "model_card"  # ModelCardGen: MODEL_CARD_FILE
PUSHED_MODEL = "pushed_model"  # Pusher
REPORT = "report"  # RunReport: RUN_REPORT_FILE

# The splits of every Examples artifact, in pipeline order.
SPLITS = ("train", "eval", "test")
# The primary test split, the one blessing decides on. Every further test set of the corpus directory is a
# split of its own, named as its files' stem: `test_<name>` (Multi30k's `test_2017_flickr`, say), after SPLITS.
TEST_SPLIT = "test"
EXTRA_TEST_SPLIT_PREFIX = "test_"
# A further test set's file stem, its split name: the prefix, then letters, digits, `_` and `-`.
EXTRA_TEST_STEM = re.compile(re.escape(EXTRA_TEST_SPLIT_PREFIX) + r"[A-Za-z0-9_-]+")
# Why a pair is dropped: the keys of a split's `dropped` counts in CLEANING_REPORT_FILE, ingest's first
# (only with on_bad_line="drop"), then the cleaning rules', in the order the rules apply.
INGEST_DROP_REASONS = ("invalid_utf8", "tsv_columns")
CLEANING_DROP_REASONS = ("empty", "too_long", "length_ratio", "copy", "test_overlap", "source_language",
                         "target_language", "duplicate")

# Files inside artifacts, by the output that holds them.
INGEST_REPORT_FILE = "ingest_report.json"  # ParallelCorpusExampleGen.examples: pairs dropped at ingest
CLEANING_REPORT_FILE = "cleaning_report.json"  # TextCleaner.report: {split: {input, kept, dropped}}
REJECTED_SAMPLES_FILE = "rejected_samples.json"  # TextCleaner.report: first rejected pairs per reason
TOKENIZER_MODEL_FILE = "sentencepiece.model"  # SubwordTokenizer.tokenizer: the SentencePiece model proto
TOKENIZER_VOCABULARY_FILE = "sentencepiece.vocab"  # SubwordTokenizer.tokenizer: one piece a line
TOKENIZER_METADATA_FILE = "tokenizer.json"  # SubwordTokenizer.tokenizer: type, size, special ids, sha256
TRAINING_STATS_FILE = "training_stats.json"  # Trainer.model_run: steps, seconds, tokens/s of the training
TRAINING_TIME_FILE = "training_time.json"  # beside the Trainer's checkpoints: training time per step
METRICS_FILE = "metrics.json"  # TranslationEvaluator.evaluation: candidate, baseline, decision
HYPOTHESES_FILE = "hypotheses.txt"  # TranslationEvaluator.evaluation: one translation a line

# Files of a local run's output directory, and of the pushed model.
RUN_SUMMARY_FILE = "run_summary.json"
RUN_REPORT_FILE = "report.html"  # RunReport.report, copied to the local run's output directory
MODEL_CARD_FILE = "model_card.md"  # ModelCardGen.model_card, and in the pushed version's ASSETS_EXTRA_DIR
# A SavedModel's directory of extra files, which TF Serving loads nothing from but the warm-up file.
ASSETS_EXTRA_DIR = "assets.extra"
SERVING_WARMUP_FILE = "tf_serving_warmup_requests"  # in ASSETS_EXTRA_DIR: TF Serving's warm-up requests
# In the SavedModel's ASSETS_EXTRA_DIR and in the CTranslate2 model directory: the model shape and the
# decoding settings of the serving signatures (JSON), from which a pushed version converts to CTranslate2.
TRANSLATION_SETTINGS_FILE = "translation_settings.json"
# The Trainer's Model artifact: the CTranslate2 model of the SavedModel's weights, beside `Format-Serving`.
CTRANSLATE2_MODEL_DIR = "Format-CTranslate2"

# Output tensors of the serving SavedModel's translation signatures (`serving_default`, `translate_greedy`):
# the translation, and its log-probability divided by its token count (EOS included). Not "score": the
# `score` signature returns the summed `log_probability` of a given target, a different quantity.
TRANSLATION_OUTPUT = "translation"
LOG_PROBABILITY_PER_TOKEN_OUTPUT = "log_probability_per_token"


def is_test_split(split: str) -> bool:
    """Whether `split` is a test set: the primary TEST_SPLIT or a further `test_<name>` split. Test sets are
    normalized, never filtered, and their bad lines are always an error."""
    return split == TEST_SPLIT or split.startswith(EXTRA_TEST_SPLIT_PREFIX)


def extra_test_splits(splits) -> list:
    """The further test sets among `splits` (split names), sorted: every `test_<name>` split."""
    return sorted(split for split in splits if split != TEST_SPLIT and is_test_split(split))


def test_set_hypotheses_file(split: str) -> str:
    """The TranslationEvaluator's hypotheses file of a test split: HYPOTHESES_FILE for the primary test
    split, `hypotheses-<split>.txt` for a further one."""
    return HYPOTHESES_FILE if split == TEST_SPLIT else f"hypotheses-{split}.txt"


def artifact_key(component_id: str, output_key: str) -> str:
    """`<component id>.<output key>`: how `run_summary.json`'s `artifacts` names an output's URI."""
    return f"{component_id}.{output_key}"

# The n-best signature of the serving SavedModel and its outputs: `[batch, beam size]` translations, best
# first, and each one's log-probability per token (as LOG_PROBABILITY_PER_TOKEN_OUTPUT).
N_BEST_SIGNATURE = "translate_n_best"
N_BEST_TRANSLATIONS_OUTPUT = "translations"
N_BEST_SCORES_OUTPUT = "scores"
