"""The report's building blocks, without a pipeline run: length buckets, best/worst by chrF, charts, training
curves from a real Keras fit (resumed once), progress logging."""
import io
import logging
import math
import re
import time

import keras
import numpy as np
import pytest
from absl import logging as absl_logging
from PIL import Image

from tfx_nmt.models.callbacks import TrainingMonitor
from tfx_nmt.pipeline.component_progress import CACHED, FINISHED, RUNNING, ComponentProgress
from tfx_nmt.reporting import plots, translation_analysis
from tfx_nmt.reporting.training_curves import (ScalarEvent, against_wall_time, read_scalar_events,
                                               read_training_curves)


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_bucket_boundaries():
    assert [translation_analysis.bucket_index(n) for n in (0, 1, 10, 11, 20, 21, 30, 31, 500)] == [
        0, 0, 0, 1, 1, 2, 2, 3, 3]
    assert [translation_analysis.bucket_label(*b) for b in translation_analysis.LENGTH_BUCKETS] == [
        "1-10", "11-20", "21-30", "31+"]


def test_bleu_by_length_bucket():
    reference = "a man is riding a red bicycle down the street"
    source_lengths = [0, 5, 10, 11, 20, 31, 50]
    sources = [words(n) for n in source_lengths]
    references = [reference] * len(sources)
    references[1] = ""  # Counted in its bucket, not scored.
    hypotheses = list(references)
    hypotheses[3] = hypotheses[4] = "nothing in common here"  # Bucket 11-20 scores 0.
    scores = translation_analysis.scores_by_length_bucket(sources, references, hypotheses, "en")
    assert [(s.label, s.num_sentences, s.num_scored) for s in scores] == [
        ("1-10", 3, 2), ("11-20", 2, 2), ("21-30", 0, 0), ("31+", 2, 2)]
    assert scores[0].score == pytest.approx(100.0)
    assert scores[1].score == 0.0
    assert math.isnan(scores[2].score)
    assert scores[3].score == pytest.approx(100.0)
    assert sum(s.num_sentences for s in scores) == len(sources)
    with pytest.raises(ValueError, match="3 sources, 2 references and 3 hypotheses"):
        translation_analysis.scores_by_length_bucket(["a"] * 3, ["a"] * 2, ["a"] * 3, "en")


def test_best_and_worst_by_sentence_chrf():
    references = ["the dog runs on the beach", "a woman sings", "two men play chess", "children swim",
                  "an old car", "", "the dog runs"]
    hypotheses = ["the dog runs on the beach", "xyz", "two men play chess", "children swimming",
                  "qqq", "anything", "the cat runs"]
    sources = [f"source {i}" for i in range(len(references))]
    best, worst = translation_analysis.best_and_worst(sources, references, hypotheses, count=2)
    # Two perfect translations (chrF 100): the earlier one first. Index 5 has no reference: never shown.
    assert [(s.index, round(s.chrf, 6)) for s in best] == [(0, 100.0), (2, 100.0)]
    assert [(s.index, round(s.chrf, 6)) for s in worst] == [(1, 0.0), (4, 0.0)]
    assert best[0].source == "source 0" and worst[0].hypothesis == "xyz" and worst[0].reference == "a woman sings"
    # Fewer pairs than 2 * count: the worst come from those not among the best.
    best, worst = translation_analysis.best_and_worst(sources[:3], references[:3], hypotheses[:3], count=2)
    assert [s.index for s in best] == [0, 2] and [s.index for s in worst] == [1]


def _decode_png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_charts_are_png_images():
    line = plots.line_chart_png({"training": [(50, 5.1), (100, 4.2), (150, 3.9)], "validation": [(150, 4.4)],
                                 "empty": []}, "Loss", "nats")
    bars = plots.bar_chart_png(["1-10", "11-20", "21-30", "31+"], [30.5, 22.0, float("nan"), 10.0],
                               ["30.5 (n=3)", "22.0 (n=5)", "n/a (n=0)", "10.0 (n=1)"], "BLEU", "words", "BLEU")
    two_axes = plots.two_axis_line_chart_png({"training loss": [(5.5, 5.1), (9.0, 4.2)], "empty": []},
                                             {"validation BLEU": [(5.6, 3.0), (9.1, 12.5)]},
                                             "Training", "nats", "BLEU", "minutes")
    for data in (line, bars, two_axes):
        image = _decode_png(data)
        assert image.size == (560, 320)
        assert len(data) > 10_000
        assert len(image.convert("RGB").getcolors(1 << 16)) > 50  # Drawn, not blank.


def _tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model


def test_training_curves_map_epochs_to_steps_across_a_resumed_fit(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 4)).astype("float32"), rng.normal(size=(96, 1)).astype("float32")
    model = _tiny_model()
    histories = []
    for _ in range(2):  # The second fit is a resume: the optimizer step continues, Keras's epochs restart.
        monitor = TrainingMonitor(max_steps=100)
        history = model.fit(x, y, batch_size=8, epochs=2, steps_per_epoch=3, validation_data=(x[:16], y[:16]),
                            callbacks=[monitor, keras.callbacks.TensorBoard(log_dir=str(tmp_path))], verbose=0)
        histories.append(history.history)
    curves = read_training_curves(str(tmp_path))
    assert [s for s, _ in curves.train_loss] == [3, 6, 9, 12]
    np.testing.assert_allclose([v for _, v in curves.train_loss],
                               histories[0]["loss"] + histories[1]["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in curves.validation_loss],
                               histories[0]["val_loss"] + histories[1]["val_loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in curves.learning_rate], [0.01] * 4, rtol=1e-6)
    assert [s for s, _ in curves.target_tokens_per_sec] == [3, 6, 9, 12]
    assert curves.validation_bleu == []  # No ValidationBleu callback in this fit.
    assert histories[1]["step"] == [9, 12]
    steps = [e for e in read_scalar_events(str(tmp_path / "train")) if e.tag == "epoch_step"]
    assert [(e.step, e.value) for e in steps] == [(0, 3.0), (1, 6.0), (0, 9.0), (1, 12.0)]


def test_curves_against_wall_time_are_minutes_since_the_origin():
    events = [ScalarEvent("epoch_loss", 1, 1_000_270.0, 4.0), ScalarEvent("epoch_bleu", 0, 1_000_100.0, 2.0),
              ScalarEvent("epoch_loss", 0, 1_000_090.0, 5.0)]
    assert against_wall_time(events, "epoch_loss", origin=1_000_000.0) == [(1.5, 5.0), (4.5, 4.0)]
    assert against_wall_time(events, "epoch_step", origin=1_000_000.0) == []


def test_training_curves_need_the_step_scalar(tmp_path):
    with pytest.raises(FileNotFoundError, match="epoch_step"):
        read_training_curves(str(tmp_path))


def test_training_monitor_logs_progress_with_time_left(caplog):
    model = _tiny_model()
    monitor = TrainingMonitor(max_steps=4, log_every_seconds=1e-9)
    x, y = np.ones((32, 4), "float32"), np.zeros((32, 1), "float32")
    with caplog.at_level(logging.INFO, logger="tfx_nmt"):
        model.fit(x, y, batch_size=8, epochs=1, callbacks=[monitor], verbose=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "tfx_nmt.models.callbacks"]
    assert [line.split(",")[0] for line in lines] == [f"Trainer: step {i} of 4" for i in (1, 2, 3, 4)]
    assert lines[-1].endswith("about 0s left")
    # Half the steps in 10 s: 10 s left; a 12 s budget leaves 2.
    monitor.start_time, monitor._start_step = 100.0, 0
    assert monitor.seconds_left(2, 110.0) == pytest.approx(10.0)
    monitor.max_seconds = 12.0
    assert monitor.seconds_left(2, 110.0) == pytest.approx(2.0)


def test_component_progress_turns_tfx_records_into_progress_lines(caplog):
    absl_logging.set_verbosity(absl_logging.WARNING)
    with caplog.at_level(logging.INFO, logger="tfx_nmt"):
        with ComponentProgress(heartbeat_seconds=0.3):
            absl_logging.info(RUNNING, "StatisticsGen")
            absl_logging.info("Some other TFX chatter")
            time.sleep(0.9)
            # What TensorFlow does around a SavedModel export: it must not blind the progress lines.
            verbosity = absl_logging.get_verbosity()
            absl_logging.set_verbosity(absl_logging.FATAL)
            absl_logging.set_verbosity(verbosity)
            absl_logging.info(FINISHED, "StatisticsGen")
            absl_logging.info(RUNNING, "SchemaGen")
            absl_logging.info(CACHED, 7)
            absl_logging.info(FINISHED, "SchemaGen")
            absl_logging.warning("A real warning")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tfx_nmt")]
    assert ours[0] == "StatisticsGen: started"
    heartbeats = ours[1:-3]
    assert heartbeats and all(re.fullmatch(r"StatisticsGen: still running \(\ds so far\)", h) for h in heartbeats)
    assert ours[-3:] == ["StatisticsGen: finished in 1s", "SchemaGen: started",
                         "SchemaGen: result reused from the cache"]
    assert [r.getMessage() for r in caplog.records if r.name == "absl"] == ["A real warning"]
    assert logging.getLogger("absl").level == logging.WARNING
    assert absl_logging.get_verbosity() == absl_logging.WARNING


def test_the_summary_table_names_the_data_span():
    from tfx_nmt.reporting.summary_table import summary_rows

    summary = {"preset": "smoke", "language_pair": "en-de", "sacrebleu_signature": None, "blessed": False,
               "blessing_reason": "r", "pushed_model_dir": None, "train_steps": None,
               "train_target_tokens_per_sec": None, "num_examples": {}, "component_seconds": {},
               "cached_components": []}
    spans = {(3, None): "3", (3, 2): "3 version 2", (None, None): "n/a"}
    for (span, version), shown in spans.items():
        rows = dict(summary_rows({**summary, "span": span, "span_version": version}))
        assert rows["data span"] == shown
    # Split patterns without {SPAN}: TFX records span 0, which is no span the user made.
    for pattern, shown in (("train.*", "none"), ("span-{SPAN}/train.*", "0")):
        rows = dict(summary_rows({**summary, "span": 0, "span_version": None, "config": {"train_pattern": pattern}}))
        assert rows["data span"] == shown
