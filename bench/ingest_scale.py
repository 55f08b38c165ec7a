"""Ingest at scale: synthetic corpora of N train pairs (Multi30k's train lines, each with a counter appended,
so no two are duplicates; val and test are Multi30k's own) through ParallelCorpusExampleGen, TextCleaner and
SubwordTokenizer, in process (Beam's DirectRunner, `in_memory`): wall seconds per component, seconds per
1,000 train pairs, and the peak resident memory of each step's process tree.

Each step runs in a child process of its own (`--step`), so that its peak memory is its own: the parent
reads the child's maximum resident set size from `os.wait4` (Linux: the largest of the child and of its
waited-for descendants; the in-process DirectRunner starts none). The steps run the components' own code:
ExampleGen is TFX's file-based driver (span, fingerprint) then the component's executor
(`parallel_corpus_example_gen.Executor.Do`); TextCleaner and SubwordTokenizer are their Beam pipelines
(`cleaning_pipeline.clean_examples`, then `subword.train_sentencepiece` on the cleaned train split as the
component streams it, and `tokenization_pipeline.tokenize_examples`).

    python bench/ingest_scale.py --data-dir DIR [--pairs 29000 2000000] [--vocabulary-size 8000]
"""
import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from machine import machine_line

SPLIT_STEMS = {"train": "train", "eval": "val", "test": "test_2016_flickr"}
STEPS = ("ExampleGen", "TextCleaner", "SubwordTokenizer")


def write_corpus(data_dir: str, directory: str, pairs: int, compress: bool) -> None:
    """`pairs` train pairs (Multi30k train lines in turn, ` <counter>` appended to both sides) and Multi30k's
    val and test files, as `<stem>.<en|de>[.gz]` in `directory`."""
    os.makedirs(directory)
    suffix = ".gz" if compress else ""
    for language in ("en", "de"):
        with gzip.open(os.path.join(data_dir, f"train.{language}.gz"), "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
        opener = gzip.open if compress else open
        # compresslevel 1: writing 2M lines at level 9 would take longer than reading them.
        kwargs = {"compresslevel": 1} if compress else {}
        with opener(os.path.join(directory, f"train.{language}{suffix}"), "wt", encoding="utf-8", **kwargs) as out:
            for number in range(pairs):
                out.write(f"{lines[number % len(lines)]} {number}\n")
        for stem in ("val", "test_2016_flickr"):
            with gzip.open(os.path.join(data_dir, f"{stem}.{language}.gz"), "rb") as f:
                data = f.read()
            with opener(os.path.join(directory, f"{stem}.{language}{suffix}"), "wb", **kwargs) as out:
                out.write(data)


def _runner_args() -> List[str]:
    from tfx_nmt.pipeline.local_runner import direct_runner_args

    return direct_runner_args(1)


def step_example_gen(corpus_dir: str, out: str) -> Dict:
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import standard_artifacts

    from tfx_nmt.components import parallel_corpus_example_gen as example_gen
    from tfx_nmt.pipeline.pipeline import create_pipeline
    from tfx_nmt.config import RunConfig

    pipeline = create_pipeline(RunConfig(), "bench", os.path.join(out, "root"), corpus_dir, os.path.join(out, "s"))
    [component] = [c for c in pipeline.components if isinstance(c, example_gen.ParallelCorpusExampleGen)]
    properties = dict(component.exec_properties)
    for key, value in list(properties.items()):
        if hasattr(value, "DESCRIPTOR"):
            from tfx.utils import proto_utils
            properties[key] = proto_utils.proto_to_json(value)
    properties = example_gen.Driver(None).resolve_exec_properties(properties, None, None)
    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(out, "examples")
    os.makedirs(examples.uri)
    executor = example_gen.Executor(BaseBeamExecutor.Context(beam_pipeline_args=_runner_args(), tmp_dir=out))
    executor.Do({}, {"examples": [examples]}, properties)
    return {"span": properties["span"], "splits": examples.split_names}


def step_text_cleaner(raw_uri: str, out: str) -> Dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from tfx_nmt.components.cleaning import CleaningRules
    from tfx_nmt.components.cleaning_pipeline import clean_examples
    from tfx_nmt.components.summary_rows import read_rows

    with beam.Pipeline(options=PipelineOptions(_runner_args())) as p:
        clean_examples(p, raw_uri, os.path.join(out, "cleaned"), list(SPLIT_STEMS), CleaningRules(),
                       os.path.join(out, "counts"), os.path.join(out, "samples"))
    kept = sum(row["count"] for row in read_rows(os.path.join(out, "counts"))
               if row["split"] == "train" and row["outcome"] == "kept")
    read_rows(os.path.join(out, "samples"))
    return {"train_kept": kept}


def step_subword_tokenizer(cleaned_uri: str, out: str, vocabulary_size: int) -> Dict:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from tfx_nmt.components.subword_tokenizer import train_sentences
    from tfx_nmt.components.summary_rows import read_rows
    from tfx_nmt.components.tokenization_pipeline import tokenization_counts, tokenize_examples
    from tfx_nmt.text import subword

    started = time.time()
    model_proto = subword.train_sentencepiece(train_sentences(cleaned_uri), vocabulary_size)
    learn_seconds = time.time() - started
    with beam.Pipeline(options=PipelineOptions(_runner_args())) as p:
        tokenize_examples(p, cleaned_uri, os.path.join(out, "tokenized"), list(SPLIT_STEMS), model_proto,
                          os.path.join(out, "counts"))
    counts = tokenization_counts(read_rows(os.path.join(out, "counts")))
    return {"learn_seconds": round(learn_seconds, 1), "train_pairs": counts["train"]["pairs"]}


def run_step(args: List[str]) -> Dict:
    """Runs `python bench/ingest_scale.py --step ...` in a child process; its result (with `work_seconds`,
    the step's own seconds after its imports), wall seconds of the process and its peak resident memory
    (MB)."""
    started = time.time()
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.time() - started
    if status:
        raise RuntimeError(f"step {args} failed with status {status}")
    result = json.loads(output.strip().splitlines()[-1])
    return {**result, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--pairs", type=int, nargs="+", default=[29000, 2000000])
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--components", nargs="+", choices=STEPS, default=list(STEPS),
                        help="the steps to time (TextCleaner needs ExampleGen, SubwordTokenizer TextCleaner)")
    parser.add_argument("--workdir", default=None, help="where the corpora and outputs go (default: a temporary "
                                                        "directory, removed at the end)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        os.makedirs(args.out, exist_ok=True)
        started = time.time()
        result = {"ExampleGen": lambda: step_example_gen(args.input, args.out),
                  "TextCleaner": lambda: step_text_cleaner(args.input, args.out),
                  "SubwordTokenizer": lambda: step_subword_tokenizer(args.input, args.out, args.vocabulary_size),
                  }[args.step]()
        print(json.dumps({**result, "work_seconds": round(time.time() - started, 1)}), flush=True)
        return
    print(machine_line(), flush=True)
    workdir = args.workdir or tempfile.mkdtemp(prefix="ingest-scale-")
    print(f"{'train pairs':>11s} {'input':6s} {'component':17s} {'seconds':>8s} {'s/1k pairs':>10s} {'process s':>9s} "
          f"{'peak MB':>8s}   (seconds: the step's work; process s: with the child's start and imports)", flush=True)
    try:
        for pairs in args.pairs:
            for compress in (False, True):
                name = f"{pairs}-{'gzip' if compress else 'plain'}"
                corpus_dir, out = os.path.join(workdir, name, "corpus"), os.path.join(workdir, name)
                write_corpus(args.data_dir, corpus_dir, pairs, compress)
                steps = [("ExampleGen", corpus_dir, os.path.join(out, "example_gen"))]
                if compress:  # TextCleaner and SubwordTokenizer read the same Examples from either input.
                    steps += [("TextCleaner", os.path.join(out, "example_gen", "examples"), os.path.join(out, "clean")),
                              ("SubwordTokenizer", os.path.join(out, "clean", "cleaned"), os.path.join(out, "tok"))]
                for step, source, target in steps:
                    if step not in args.components:
                        continue
                    result = run_step(["--step", step, "--input", source, "--out", target,
                                       "--vocabulary-size", str(args.vocabulary_size)])
                    extra = {k: v for k, v in result.items() if k not in ("seconds", "peak_mb", "work_seconds")}
                    work = result["work_seconds"]
                    print(f"{pairs:>11,d} {'gzip' if compress else 'plain':6s} {step:17s} {work:>8.1f} "
                          f"{1000 * work / pairs:>10.3f} {result['seconds']:>9.1f} {result['peak_mb']:>8.0f}   "
                          f"{json.dumps(extra)}", flush=True)
                shutil.rmtree(corpus_dir)
                for step, _, target in steps:
                    shutil.rmtree(target, ignore_errors=True)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
