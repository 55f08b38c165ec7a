"""Decoding speed of the serving graph on the Multi30k test split: greedy and beam search, batch 1 and
batch 64, with the incremental decoder cache and with full recomputation of the prefix at every step.

Prints, per configuration: sentences/s, target tokens/s (SentencePiece pieces of the output plus EOS),
p50/p95 latency per call, cased sacreBLEU, and whether the cache gives the same translations as full
recomputation. Timing covers the whole string-in/string-out call (normalization, tokenization,
decoding, detokenization) after one untimed warm-up call per shape.

Decoding lengths (hence speed) depend on the weights, so a trained model is measured: with
`--run-dir`, the model of a finished `tfx-nmt run` (the `--output-dir` of `make run`: the quick model);
otherwise a model of the preset's shape trained here for `--train-seconds` on the cleaned train split
(random weights would decode until the length limit), `--model-cache DIR` keeping its weights and
SentencePiece model for the next run.

    python bench/decode.py --data-dir DIR --run-dir outputs/quick [--sentences 1000]
    python bench/decode.py --data-dir DIR [--train-seconds 600] [--model-cache DIR]
"""
import argparse
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from corpora import read_corpus
from finished_run import restore_run_model
from machine import machine_line
from train_throughput import write_tokenized

from tfx_nmt import contract
from tfx_nmt.scoring.translation_metrics import corpus_bleu
from tfx_nmt.models.callbacks import TrainingMonitor
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.trainer import build_model, float32_copy, make_optimizer
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.serving.clients import length_sorted_batches
from tfx_nmt.text import subword
from tfx_nmt.text.normalization import normalize
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

WEIGHTS_FILE = "model.weights.h5"


def trained_model(config, data_dir: str, train_seconds: float, model_cache: str):
    """(model, SentencePiece proto): loaded from `model_cache` when it holds them, else trained and saved."""
    weights = os.path.join(model_cache, WEIGHTS_FILE) if model_cache else None
    spm_path = os.path.join(model_cache, contract.TOKENIZER_MODEL_FILE) if model_cache else None
    if weights and os.path.exists(weights):
        with open(spm_path, "rb") as f:
            proto = f.read()
        model = build_model(config, subword.SubwordEncoder(proto).vocabulary_size)
        model.load_weights(weights)
        print(f"loaded the model from {model_cache}", flush=True)
        return model, proto
    with tempfile.TemporaryDirectory() as workdir:
        vocabulary_size, proto = write_tokenized(data_dir, workdir, config.vocabulary_size)
        dataset = make_dataset([os.path.join(workdir, "train.gz")], config.tokens_per_batch,
                               config.max_source_length, config.max_target_length, training=True,
                               seed=config.seed)
        keras.utils.set_random_seed(config.seed)
        model = build_model(config, vocabulary_size)
        model.compile(optimizer=make_optimizer(config))
        monitor = TrainingMonitor(config.train_steps, train_seconds)
        history = model.fit(dataset, epochs=10 ** 6, steps_per_epoch=config.steps_per_epoch,
                            callbacks=[monitor], verbose=0)
    print(f"trained {int(model.optimizer.iterations.numpy())} steps in {monitor.train_seconds:.0f} s, "
          f"loss {history.history['loss'][-1]:.3f}", flush=True)
    if model_cache:
        os.makedirs(model_cache, exist_ok=True)
        model.save_weights(weights)
        with open(spm_path, "wb") as f:
            f.write(proto)
    return model, proto


def measure(function, sources, batch_size: int, encoder) -> dict:
    """Translates `sources` in length-sorted batches; returns translations and timings."""
    batches = list(length_sorted_batches(sources, batch_size))
    function(tf.constant([sources[i] for i in batches[0]]))  # warm-up: tracing
    translations = [""] * len(sources)
    latencies = []
    started = time.perf_counter()
    for indices in batches:
        call_started = time.perf_counter()
        outputs = function(tf.constant([sources[i] for i in indices]))["translation"].numpy()
        latencies.append(time.perf_counter() - call_started)
        for i, text in zip(indices, outputs):
            translations[i] = text.decode("utf-8")
    seconds = time.perf_counter() - started
    tokens = sum(len(encoder.encode(t)) - 1 for t in translations)
    return {"translations": translations, "seconds": seconds, "sentences_per_sec": len(sources) / seconds,
            "tokens_per_sec": tokens / seconds, "p50_ms": 1000 * np.percentile(latencies, 50),
            "p95_ms": 1000 * np.percentile(latencies, 95)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--run-dir", default=None, help="output dir of a finished tfx-nmt run whose model to measure")
    parser.add_argument("--preset", default="quick", help="shape of the model trained here without --run-dir")
    parser.add_argument("--train-seconds", type=float, default=600)
    parser.add_argument("--model-cache", default=None, help="directory keeping the trained model between runs")
    parser.add_argument("--sentences", type=int, default=1000, help="test sentences to translate")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--batch-1-sentences", type=int, default=0,
                        help="translate only the first N sentences at batch size 1 (0: all); batch 1 is slow")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    if args.run_dir:
        run = restore_run_model(args.run_dir)
        config, model, proto = run.config, run.model, run.tokenizer_model
        print(f"loaded the model of the {config.preset} run in {args.run_dir}", flush=True)
    else:
        config = get_preset(args.preset)
        model, proto = trained_model(config, args.data_dir, args.train_seconds, args.model_cache)
        # The SavedModel decodes with a float32 copy of the weights whatever the training precision (the
        # quick preset trains in mixed_bfloat16 where the CPU has native bf16): measure that graph (a
        # finished run's model is restored in float32 already, `finished_run.restore_run_model`).
        model = float32_copy(model, config)
    encoder = subword.SubwordEncoder(proto)
    pairs = read_corpus(args.data_dir, "en", "de", {"test": args.sentences})["test"]
    sources = [normalize(s) for s, _ in pairs]
    references = [normalize(t) for _, t in pairs]
    print(f"{len(sources)} test sentences, {config.d_model}-d {config.num_encoder_layers}+"
          f"{config.num_decoder_layers} layers, beam {config.beam_size}, alpha {config.length_penalty_alpha}",
          flush=True)
    print(f"{'search':8s} {'batch':>5s} {'sents':>5s} {'cache':>6s} {'sent/s':>8s} {'tok/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} "
          f"{'BLEU':>6s} {'same as cache':>13s}", flush=True)
    results = {}
    for search in ("greedy", "beam"):
        for batch_size in args.batch_sizes:
            count = args.batch_1_sentences if batch_size == 1 and args.batch_1_sentences else len(sources)
            for use_cache in (True, False):
                module = TranslatorServingModule(model, SentencePieceTokenizer(proto), config.max_decode_length_a,
                                                 config.max_decode_length_b, config.beam_size,
                                                 config.length_penalty_alpha, use_cache=use_cache)
                function = module.serve if search == "beam" else module.translate_greedy
                result = measure(function, sources[:count], batch_size, encoder)
                results[search, batch_size, use_cache] = result
                bleu = corpus_bleu(result["translations"], references[:count]).score
                same = "" if use_cache else \
                    str(result["translations"] == results[search, batch_size, True]["translations"])
                latency = (f"{result['p50_ms']:>8.1f} {result['p95_ms']:>8.1f}" if batch_size == 1
                           else f"{'':>8s} {'':>8s}")
                print(f"{search:8s} {batch_size:>5d} {count:>5d} {str(use_cache):>6s} {result['sentences_per_sec']:>8.2f} "
                      f"{result['tokens_per_sec']:>8.0f} {latency} {bleu:>6.2f} {same:>13s}", flush=True)
            speedup = results[search, batch_size, True]["tokens_per_sec"] / \
                results[search, batch_size, False]["tokens_per_sec"]
            print(f"{'':8s} {batch_size:>5d} {count:>5d} cache speed-up x{speedup:.2f}", flush=True)


if __name__ == "__main__":
    main()
