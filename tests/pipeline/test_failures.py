"""Bad input, failures and restarts through the real command line: `tfx-nmt run` with LocalDagRunner,
ML Metadata on SQLite and Beam's DirectRunner."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from processes import REPO, tree_hashes
from tfx_nmt import contract
from tfx_nmt.models.callbacks import read_training_time

UPSTREAM_OF_TRAINER = {contract.EXAMPLE_GEN, contract.STATISTICS_GEN, contract.SCHEMA_GEN, contract.EXAMPLE_VALIDATOR,
                       contract.TEXT_CLEANER, contract.SUBWORD_TOKENIZER}


def _command(data_dir, output_dir, *flags):
    return [sys.executable, "-m", "tfx_nmt.cli", "run", "--preset", "smoke", "--data-dir", str(data_dir),
            "--output-dir", str(output_dir), *flags]


def _run(data_dir, output_dir):
    return subprocess.run(_command(data_dir, output_dir), capture_output=True, text=True, timeout=1200, cwd=REPO)


def _executions(metadata_path):
    """Every execution recorded in a SQLite ML Metadata store."""
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(metadata_path)
    connection.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(connection).get_executions()


def _write_corpus(directory, pairs_per_split):
    """Plain-text Multi30k-style files: {stem: (source lines, target lines)}."""
    os.makedirs(directory, exist_ok=True)
    for stem, (sources, targets) in pairs_per_split.items():
        for language, lines in (("en", sources), ("de", targets)):
            with open(os.path.join(directory, f"{stem}.{language}"), "w") as f:
                f.write("".join(line + "\n" for line in lines))
    return str(directory)


def _small_corpus(data_dir, counts):
    from corpora import read_corpus

    pairs = read_corpus(data_dir, "en", "de", {"train": 400, "eval": 40, "test": 40})
    stems = {"train": "train", "eval": "val", "test": "test_2016_flickr"}
    return {stems[split]: ([s for s, _ in pairs[split][:n]], [t for _, t in pairs[split][:n]])
            for split, n in counts.items()}


@pytest.mark.pipeline_run
def test_mismatched_line_counts_fail_the_run_before_any_other_component(tmp_path, data_dir):
    files = _small_corpus(data_dir, {"train": 400, "eval": 40, "test": 40})
    files["val"] = (files["val"][0], files["val"][1][:39])
    corpus_dir = _write_corpus(tmp_path / "corpus", files)
    result = _run(corpus_dir, tmp_path / "out")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"tfx-nmt: error: line counts differ: {corpus_dir}/val.en has 40 lines, {corpus_dir}/val.de has 39 " \
           "lines; the files must be aligned line by line\n" in result.stderr
    # ExampleGen failed and nothing ran after it; no artifact of it was left either.
    pipeline_root = tmp_path / "out" / "pipeline_root"
    assert not pipeline_root.exists() or os.listdir(pipeline_root) in ([], ["ParallelCorpusExampleGen"])
    [execution] = _executions(tmp_path / "out" / "metadata.sqlite")
    assert execution.type.endswith("ParallelCorpusExampleGen")
    assert execution.last_known_state == metadata_store_pb2.Execution.FAILED
    assert not glob.glob(str(tmp_path / "out" / "pipeline_root" / "*" / "*" / "*" / "Split-*"))


@pytest.mark.pipeline_run
def test_an_empty_split_stops_the_run_at_example_gen(tmp_path, data_dir):
    corpus_dir = _write_corpus(tmp_path / "corpus", _small_corpus(data_dir, {"train": 400, "eval": 40, "test": 0}))
    result = _run(corpus_dir, tmp_path / "out")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (f"tfx-nmt: error: {corpus_dir}/test_2016_flickr.en and {corpus_dir}/test_2016_flickr.de: no lines; "
            "the test split needs at least one pair\n") in result.stderr
    pipeline_root = tmp_path / "out" / "pipeline_root"
    assert not pipeline_root.exists() or os.listdir(pipeline_root) in ([], ["ParallelCorpusExampleGen"])
    [execution] = _executions(tmp_path / "out" / "metadata.sqlite")
    assert execution.last_known_state == metadata_store_pb2.Execution.FAILED


@pytest.mark.pipeline_run
def test_a_span_with_one_language_only_stops_the_run_at_example_gen_in_one_line(tmp_path, data_dir):
    files = _small_corpus(data_dir, {"train": 400, "eval": 40, "test": 40})
    corpus_dir = tmp_path / "corpus"
    _write_corpus(corpus_dir / "span-1", files)
    _write_corpus(corpus_dir / "span-2", files)
    for stem in files:
        os.remove(corpus_dir / "span-2" / f"{stem}.de")
    patterns = ["--train-pattern", "span-{SPAN}/train.*", "--eval-pattern", "span-{SPAN}/val.*",
                "--test-pattern", "span-{SPAN}/test_2016_flickr.*"]
    result = subprocess.run(_command(corpus_dir, tmp_path / "out", *patterns), capture_output=True, text=True,
                            timeout=1200, cwd=REPO)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (f"tfx-nmt: error: missing corpus files for split 'train': pattern 'span-2/train.*' under {corpus_dir} "
            "matches span-2/train.en; expected a file ending in .en or .en.gz and one ending in .de or .de.gz, or "
            "one ending in .en-de.tsv or .en-de.tsv.gz\n") in result.stderr
    # The driver stopped the run: nothing ran after ExampleGen. TFX 1.16's launcher runs a custom driver
    # outside the executor's failure handling, so it leaves that execution RUNNING, not FAILED (a re-run
    # registers a new one).
    [execution] = _executions(tmp_path / "out" / "metadata.sqlite")
    assert execution.type.endswith("ParallelCorpusExampleGen")
    assert execution.last_known_state == metadata_store_pb2.Execution.RUNNING


def test_pushed_model_is_byte_identical_to_the_trainers_export(smoke_run):
    output_dir, summary, _ = smoke_run
    [export_dir] = glob.glob(os.path.join(output_dir, "pipeline_root", contract.TRAINER, contract.MODEL, "*",
                                         "Format-Serving"))
    exported, pushed = tree_hashes(export_dir), tree_hashes(summary["pushed_model_dir"])
    # The Pusher staged the model card into assets.extra/ before its rename; everything else (saved_model.pb,
    # variables/, assets/, the warm-up requests, the translation settings and SentencePiece model that
    # export-ctranslate2 reads) is byte-identical to the Trainer's export.
    card = f"{contract.ASSETS_EXTRA_DIR}/{contract.MODEL_CARD_FILE}"
    warmup = f"{contract.ASSETS_EXTRA_DIR}/{contract.SERVING_WARMUP_FILE}"
    settings = f"{contract.ASSETS_EXTRA_DIR}/{contract.TRANSLATION_SETTINGS_FILE}"
    tokenizer = f"{contract.ASSETS_EXTRA_DIR}/{contract.TOKENIZER_MODEL_FILE}"
    assert sorted(p for p in pushed if p.startswith("assets.extra/")) == sorted([card, warmup, settings, tokenizer])
    assert warmup in exported and card not in exported
    assert {p: h for p, h in pushed.items() if p != card} == exported
    assert "saved_model.pb" in pushed and any(p.startswith("variables/") for p in pushed)
    serving_dir = os.path.dirname(summary["pushed_model_dir"])
    assert os.listdir(serving_dir) == [os.path.basename(summary["pushed_model_dir"])]  # No staging left.


def test_no_subword_marker_in_the_scored_hypotheses(smoke_run):
    output_dir, summary, _ = smoke_run
    [hypotheses] = glob.glob(os.path.join(output_dir, "pipeline_root", contract.EVALUATOR, contract.EVALUATION, "*",
                                          contract.HYPOTHESES_FILE))
    with open(hypotheses) as f:
        text = f.read()
    assert text.strip() and "\u2581" not in text


def _checkpoint_step(checkpoint_dir):
    with open(os.path.join(checkpoint_dir, "checkpoint")) as f:
        return int(re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', f.read(), re.M).group(1))


def _corpus_with_bad_lines(directory, data_dir):
    """Smoke-sized corpus: train as paired files with lines 5 and 17 not UTF-8, val as TSV with row 3
    holding two tabs, test as paired files."""
    files = _small_corpus(data_dir, {"train": 400, "eval": 40, "test": 40})
    sources, targets = files.pop("val")
    rows = [f"{s}\t{t}" for s, t in zip(sources, targets)]
    rows[2] = rows[2] + "\textra column"
    os.makedirs(directory)
    with open(os.path.join(directory, "val.en-de.tsv"), "w") as f:
        f.write("".join(row + "\n" for row in rows))
    corpus_dir = _write_corpus(directory, files)
    path = os.path.join(corpus_dir, "train.en")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    lines[4], lines[16] = b"caf\xe9 " + lines[4], lines[16] + b" \xff"
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))
    return corpus_dir, rows[2]


@pytest.mark.pipeline_run
def test_killed_run_resumes_from_cache_and_checkpoint(tmp_path, data_dir):
    """A run killed with SIGKILL, then its re-run interrupted with SIGINT (Ctrl-C), then a re-run that
    finishes. Also runs ingest with `--on-bad-line drop` on a corpus with bad lines, and a TSV split."""
    output_dir, tmp_dir, work_dir = tmp_path / "out", tmp_path / "tmp", tmp_path / "cwd"
    os.makedirs(tmp_dir)
    os.makedirs(work_dir)
    data_dir, bad_row = _corpus_with_bad_lines(tmp_path / "corpus", data_dir)
    command = _command(data_dir, output_dir, "--on-bad-line", "drop")
    env = dict(os.environ, TMPDIR=str(tmp_dir))
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work_dir,
                                 env=env, start_new_session=True)
    try:
        lock_file = output_dir / "tfx-nmt.lock"
        while not (lock_file.exists() and lock_file.read_text() == f"{first.pid}\n"):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.2)
        # A second run into the held output dir is refused at once, before writing anything.
        started = time.time()
        second = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"tfx-nmt: error: output directory {output_dir} is in use by another tfx-nmt run (pid {first.pid}, " \
               in second.stderr
        assert time.time() - started < 120

        # SIGKILL the first run once the Trainer has written a checkpoint and its training time, before it
        # finishes.
        pattern = str(output_dir / "pipeline_root" / contract.TRAINER / "checkpoints" / "*" / "checkpoint")
        while not (glob.glob(pattern) and glob.glob(os.path.join(os.path.dirname(pattern), contract.TRAINING_TIME_FILE))):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # Every temporary file of the killed run and of its Beam workers is in the output dir's tmp/, where
    # the SIGKILL left them; TMPDIR is as it was (empty).
    assert os.listdir(tmp_dir) == []
    assert any(name.startswith("__autograph_generated_file") for name in os.listdir(output_dir / "tmp"))
    [checkpoint_dir] = [os.path.dirname(p) for p in glob.glob(pattern)]
    killed_at = _checkpoint_step(checkpoint_dir)
    assert 0 < killed_at < 150
    trained_before_kill = read_training_time(checkpoint_dir, killed_at)
    assert trained_before_kill["train_seconds"] > 0
    assert not glob.glob(str(output_dir / "pipeline_root" / contract.TRAINER / contract.MODEL / "*" / "Format-Serving"))

    # The re-run gets Ctrl-C (SIGINT to its process group, as a terminal sends it) once its Trainer has
    # resumed: one line, exit status 130, the output directory released and its tmp/ removed.
    with open(tmp_path / "interrupted.log", "w") as log:
        interrupted = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work_dir, env=env,
                                       start_new_session=True)
    try:
        while f"at step {killed_at}" not in (tmp_path / "interrupted.log").read_text():
            assert interrupted.poll() is None, (tmp_path / "interrupted.log").read_text()[-3000:]
            time.sleep(0.1)
        os.killpg(interrupted.pid, signal.SIGINT)
        interrupted.wait(timeout=120)
    finally:
        if interrupted.poll() is None:
            os.killpg(interrupted.pid, signal.SIGKILL)
            interrupted.wait()
    interrupted_log = (tmp_path / "interrupted.log").read_text()
    resumed_at = interrupted_log.index(f"at step {killed_at}")
    assert interrupted.returncode == 130, interrupted_log[resumed_at - 500:resumed_at + 4000]
    assert "Traceback" not in interrupted_log and "KeyboardInterrupt" not in interrupted_log
    assert interrupted_log.splitlines()[-1] == (
        "tfx-nmt: interrupted; run the same command again to resume (finished components are reused from ML "
        "Metadata, training continues from its last checkpoint)")
    assert not (output_dir / "tmp").exists() and os.listdir(tmp_dir) == []
    assert not glob.glob(str(output_dir / "pipeline_root" / contract.TRAINER / contract.MODEL / "*" / "Format-Serving"))
    interrupted_at = _checkpoint_step(checkpoint_dir)
    assert killed_at <= interrupted_at < 150
    trained_before_kill = read_training_time(checkpoint_dir, interrupted_at)

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                           cwd=work_dir, env=env)
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-5000:]
    with open(output_dir / contract.RUN_SUMMARY_FILE) as f:
        summary = json.load(f)
    assert set(summary["cached_components"]) == UPSTREAM_OF_TRAINER
    [stats_path] = glob.glob(str(output_dir / "pipeline_root" / contract.TRAINER / contract.MODEL_RUN / "*" /
                                 contract.TRAINING_STATS_FILE))
    with open(stats_path) as f:
        stats = json.load(f)
    assert stats["checkpoint_dir"] == checkpoint_dir
    assert stats["initial_step"] == interrupted_at  # The step counter continued from the checkpoint ...
    assert stats["steps"] == summary["train_steps"] == 150  # ... to the configured total, not 150 more.
    # The training seconds (and the clock of max_train_seconds) continued too.
    assert stats["train_seconds"] > trained_before_kill["train_seconds"]
    assert stats["elapsed_seconds"] > trained_before_kill["elapsed_seconds"]
    assert summary["blessed"] is True
    assert os.path.isfile(os.path.join(summary["pushed_model_dir"], "saved_model.pb"))
    # Nothing was written outside the output dir: not in the working directory, not in TMPDIR; the re-run
    # emptied the output dir's tmp/ of what the killed run left, and removed it when it ended.
    assert os.listdir(work_dir) == []
    assert os.listdir(tmp_dir) == []
    assert not (output_dir / "tmp").exists()

    # The bad lines were dropped at ingest and counted; the report adds up.
    [report_dir] = glob.glob(str(output_dir / "pipeline_root" / contract.TEXT_CLEANER / contract.CLEANING_REPORT / "*"))
    with open(os.path.join(report_dir, contract.CLEANING_REPORT_FILE)) as f:
        report = json.load(f)
    with open(os.path.join(report_dir, contract.REJECTED_SAMPLES_FILE)) as f:
        samples = json.load(f)
    assert (report["train"]["input"], report["train"]["dropped"]["invalid_utf8"]) == (400, 2)
    assert (report["eval"]["input"], report["eval"]["dropped"]["tsv_columns"]) == (40, 1)
    assert report["test"] == {"input": 40, "kept": 40, "dropped": {r: 0 for r in report["test"]["dropped"]}}
    for entry in report.values():
        assert entry["input"] == entry["kept"] + sum(entry["dropped"].values())
    assert [s["line"] for s in samples["train"]["invalid_utf8"]] == [5, 17]
    assert samples["train"]["invalid_utf8"][0]["source"].startswith("caf\\xe9 ")
    assert samples["eval"]["tsv_columns"] == [{"line": 3, "source": bad_row, "target": ""}]
    assert summary["num_examples"]["train"]["before_cleaning"] == 400
