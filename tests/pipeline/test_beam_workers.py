"""The Beam components give the same outputs on the DirectRunner with 1 worker (in process) and with 2
worker processes.

The cleaning and tokenization pipelines are the components' own functions (`clean_examples`,
`tokenize_examples`) on 3,000/300/300 real Multi30k pairs; the SentencePiece model is learned from each
run's cleaned train split, as the SubwordTokenizer component does. In multi-processing mode the DoFns run
in separate worker processes, so the tokenizer must load there too.
"""
import collections
import json
import os
import subprocess
import sys

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from corpora import read_corpus
from tf_examples import make_text_example
from tfx_nmt.components.cleaning import CleaningRules
from tfx_nmt.components.cleaning_pipeline import clean_examples
from tfx_nmt.components.examples_io import bytes_feature, int64_feature, iterate_examples, split_files, split_uri
from tfx_nmt.components.subword_tokenizer import train_sentences
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.text_cleaner import assemble_report
from tfx_nmt.components.tokenization_pipeline import tokenization_counts, tokenize_examples
from tfx_nmt.pipeline.local_runner import direct_runner_args
from tfx_nmt.text import subword

SPLITS = ["train", "eval", "test"]
PAIRS = {"train": 3000, "eval": 300, "test": 300}


def write_raw_examples(directory, data_dir):
    """The first PAIRS of each split as raw Examples in 3 files per split (work for several workers), with
    the first 50 train pairs repeated (duplicates for the deduplication)."""
    pairs = read_corpus(data_dir, "en", "de", PAIRS)
    pairs["train"] = list(pairs["train"]) + list(pairs["train"][:50])
    for split in SPLITS:
        os.makedirs(split_uri(directory, split))
        rows = pairs[split]
        for shard in range(3):
            path = os.path.join(split_uri(directory, split), f"data-{shard}.gz")
            with tf.io.TFRecordWriter(path, "GZIP") as writer:
                for source, target in rows[shard::3]:
                    writer.write(make_text_example({"source": source, "target": target}))


def examples_multiset(directory, split, features):
    """Counter of tuples of the named features (bytes, or tuples of int64 ids) over one split."""
    def value(example, name):
        return tuple(int64_feature(example, name)) if name.endswith("_ids") else bytes_feature(example, name)

    return collections.Counter(tuple(value(e, n) for n in features) for e in iterate_examples(directory, split))


def run_components(work, raw, workers):
    """Cleaning, then SentencePiece learning, then tokenization, Beam on `workers` workers."""
    options = PipelineOptions(direct_runner_args(workers))
    cleaned, tokenized = os.path.join(work, "cleaned"), os.path.join(work, "tokenized")
    counts_prefix = os.path.join(work, "report", "counts")
    samples_prefix = os.path.join(work, "report", "samples")
    with beam.Pipeline(options=options) as p:
        clean_examples(p, raw, cleaned, SPLITS, CleaningRules(max_tokens=80, max_length_ratio=3.0), counts_prefix,
                       samples_prefix)
    report = assemble_report(read_rows(counts_prefix), SPLITS)
    model_proto = subword.train_sentencepiece(train_sentences(cleaned), 2000)
    with beam.Pipeline(options=options) as p:
        tokenize_examples(p, cleaned, tokenized, SPLITS, model_proto, os.path.join(work, "token_counts"))
    return {
        "report": report,
        "token_counts": tokenization_counts(read_rows(os.path.join(work, "token_counts"))),
        "cleaned": {s: examples_multiset(cleaned, s, ["source", "target"]) for s in SPLITS},
        "tokenized": {s: examples_multiset(tokenized, s, ["source", "target", "source_ids", "target_ids"])
                      for s in SPLITS},
        "model": model_proto,
        "vocabulary": subword.SubwordEncoder(model_proto).vocabulary(),
        "files": {s: len(split_files(tokenized, s)) for s in SPLITS},
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, data_dir):
    work = tmp_path_factory.mktemp("beam_workers")
    raw = str(work / "raw")
    write_raw_examples(raw, data_dir)
    return {n: run_components(str(work / f"workers-{n}"), raw, n) for n in (1, 2)}


def test_cleaning_is_the_same_with_one_and_two_workers(outputs):
    one, two = outputs[1], outputs[2]
    assert one["report"] == two["report"]
    assert one["report"]["train"]["input"] == 3050 and one["report"]["train"]["dropped"]["duplicate"] >= 50
    assert one["report"]["test"] == {"input": 300, "kept": 300, "dropped": {k: 0 for k in one["report"]["test"]["dropped"]}}
    for split in SPLITS:
        assert one["cleaned"][split] == two["cleaned"][split], split
        assert sum(one["cleaned"][split].values()) == one["report"][split]["kept"]
    assert max(one["cleaned"]["train"].values()) == 1  # deduplicated


def test_vocabulary_and_token_ids_are_the_same_with_one_and_two_workers(outputs):
    one, two = outputs[1], outputs[2]
    assert len(one["vocabulary"]) == 2000
    assert one["vocabulary"] == two["vocabulary"]
    for split in SPLITS:
        assert one["tokenized"][split] == two["tokenized"][split], split
        assert sum(one["tokenized"][split].values()) == one["report"][split]["kept"]
        assert one["token_counts"][split]["pairs"] == one["report"][split]["kept"]
    assert one["token_counts"] == two["token_counts"]
    encoder = subword.SubwordEncoder(one["model"])
    for source, target, source_ids, target_ids in one["tokenized"]["test"]:
        assert source_ids[0] == target_ids[0] == subword.BOS_ID
        assert source_ids[-1] == target_ids[-1] == subword.EOS_ID
        assert encoder.decode(source_ids) == source.decode() and encoder.decode(target_ids) == target.decode()


def test_beam_modules_import_neither_tensorflow_nor_tfx():
    """Beam worker processes import the modules of the DoFns they run; TensorFlow and TFX would add
    seconds to every worker's start (BENCHMARKS.md, data components)."""
    script = ("import sys, tfx_nmt.components.cleaning_pipeline, tfx_nmt.components.tokenization_pipeline; "
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'tfx', 'keras'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# A module the workers import to run `facts`; written to a directory on their PYTHONPATH by the test (the
# test modules themselves are not importable in other processes: pytest imports them with importlib).
PROBE_MODULE = """
import json
import os


def facts(_):
    # Where a DoFn runs: its process id and the direct_num_workers of the pipeline options Beam gave a
    # worker process (none in this process).
    options = json.loads(os.environ.get("PIPELINE_OPTIONS", "{}"))
    return {"pid": os.getpid(), "direct_num_workers": [v for k, v in options.items() if "direct_num_workers" in k]}
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_the_dofns_run_in_this_process_or_in_beams_worker_processes(workers, tmp_path, monkeypatch):
    """`direct_runner_args(2)` is Beam's own multi-processing DirectRunner: the DoFns run in worker
    processes, not this one, which got the pipeline options; `direct_runner_args(1)` runs them here. The
    workers start in this process's working directory: outside the checkout, as for a user of the wheel."""
    monkeypatch.chdir(tmp_path)
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "worker_probe.py").write_text(PROBE_MODULE)
    monkeypatch.syspath_prepend(str(probe_dir))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(probe_dir), os.environ.get("PYTHONPATH")])))
    import worker_probe
    output = tmp_path / "facts"
    with beam.Pipeline(options=PipelineOptions(direct_runner_args(workers))) as p:
        _ = (p | beam.Create(range(200)) | beam.Reshuffle() | beam.Map(worker_probe.facts) | beam.Map(json.dumps)
             | beam.io.WriteToText(str(output)))
    facts = [json.loads(line) for path in tmp_path.glob("facts*") for line in path.read_text().splitlines()]
    assert len(facts) == 200
    pids = {f["pid"] for f in facts}
    if workers == 1:
        assert pids == {os.getpid()} and {tuple(f["direct_num_workers"]) for f in facts} == {()}
    else:
        assert os.getpid() not in pids and 1 <= len(pids) <= 2
        assert {tuple(f["direct_num_workers"]) for f in facts} == {("2",)}
