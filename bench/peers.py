"""The peer benchmark: the pushed SavedModel against the CTranslate2 export of the same weights, side by side.

On the model of a finished `tfx-nmt run` (`--run-dir`, the `--output-dir` of `make run`): the SavedModel
(`translate_greedy` and `serving_default`), CTranslate2 float32 (with the export's default of one intra-op
thread per core, and with 1) and CTranslate2 int8 (with 2 intra-op threads and with 1), greedy and beam search, at batch 64 (the first `--sentences` test_2016_flickr sentences)
and batch 1 (the first `--batch-1-sentences`). Each engine runs in a process of its own (two CTranslate2
translators in one process slow each other down), engines alternate within each of `--rounds` rounds, and
the speed figures are the medians over the rounds. Timing covers the whole string-in/string-out call of the
client (`tfx_nmt.serving.clients`: normalization, tokenization, decoding, detokenization) after one untimed
warm-up batch per configuration; tokens are output SentencePiece pieces plus EOS.

Prints: target tokens/s and sentences/s (and the ratio to the SavedModel), p50/p95 latency per call at batch
1, the share of outputs identical to the SavedModel's, cased sacreBLEU; then the machine's matmul peak
(TensorFlow, 2048 x 2048, float32 and bfloat16, in GFLOP/s) and the run's Trainer throughput as FLOP/s and
as a share of those peaks, with the FLOP count per target token it assumes.

With `--compare-saved-model DIR`, a SavedModel of the same weights exported by another version of this code
(say, before a change to the searches) runs as one more engine, "SavedModel cmp", its outputs compared with
this checkout's.

    python bench/peers.py --run-dir outputs/quick [--sentences 1000] [--batch-1-sentences 200] [--rounds 3]
        [--engines SavedModel "CT2 fp32"] [--compare-saved-model DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from machine import machine_line

from tfx_nmt import contract
from tfx_nmt.serving.clients import length_sorted_batches

SEARCHES = {"greedy": "translate_greedy", "beam": "serving_default"}
# name -> (engine, quantization, intra-op threads; None: the client's default)
COMPARED = "SavedModel cmp"
ENGINES = {
    "SavedModel": ("tensorflow", None, None),
    COMPARED: ("tensorflow", None, None),
    "CT2 fp32": ("ctranslate2", "none", None),
    "CT2 fp32 1t": ("ctranslate2", "none", 1),
    "CT2 int8 2t": ("ctranslate2", "int8", 2),
    "CT2 int8 1t": ("ctranslate2", "int8", 1),
}


def measure_engine(engine: str, model_dir: str, intra_threads, sources, batch_sizes, batch_1_sentences) -> dict:
    """In the worker process: {"<search> <batch>": figures and translations} of one engine."""
    from tfx_nmt.serving import clients
    from tfx_nmt.text.subword import SubwordEncoder

    results = {}
    for search, signature in SEARCHES.items():
        if engine == "tensorflow":
            client = clients.SavedModelClient(model_dir, signature)
            tokenizer = os.path.join(model_dir, contract.ASSETS_EXTRA_DIR, contract.TOKENIZER_MODEL_FILE)
        else:
            client = clients.CTranslate2Client(model_dir, signature, intra_threads)
            tokenizer = os.path.join(model_dir, contract.TOKENIZER_MODEL_FILE)
        with open(tokenizer, "rb") as f:
            encoder = SubwordEncoder(f.read())
        for batch_size in batch_sizes:
            texts = sources[:batch_1_sentences] if batch_size == 1 else sources
            batches = list(length_sorted_batches(texts, batch_size))
            client.translate([texts[i] for i in batches[len(batches) // 2]])  # warm-up
            translations, latencies = [""] * len(texts), []
            started = time.perf_counter()
            for indices in batches:
                call_started = time.perf_counter()
                outputs, _ = client.translate([texts[i] for i in indices])
                latencies.append(time.perf_counter() - call_started)
                for i, text in zip(indices, outputs):
                    translations[i] = text
            seconds = time.perf_counter() - started
            tokens = sum(len(encoder.encode(t)) - 1 for t in translations)
            results[f"{search} {batch_size}"] = {
                "translations": translations, "seconds": seconds, "tokens_per_sec": tokens / seconds,
                "sentences_per_sec": len(texts) / seconds, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
                "p95_ms": 1000 * float(np.percentile(latencies, 95))}
    return results


def matmul_peak() -> dict:
    """In the worker process: GFLOP/s of TensorFlow's 2048 x 2048 matmul (2 n^3 FLOPs), float32 and bfloat16,
    the best of 5 eager products after a warm-up (eagerly, so that no graph optimizer merges repeated
    products)."""
    import tensorflow as tf

    n, result = 2048, {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.random.normal([n, n], dtype=tf.float32)
        a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
        tf.matmul(a, b)[0, 0].numpy()
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            tf.matmul(a, b)[0, 0].numpy()
            timings.append(time.perf_counter() - started)
        result[dtype.name] = 2 * n ** 3 / min(timings) / 1e9
    return result


def _worker(args) -> None:
    with open(args.sources_file, encoding="utf-8") as f:
        sources = json.load(f)
    if args.worker == "matmul":
        result = matmul_peak()
    else:
        result = measure_engine(args.worker, args.model_dir, args.intra_threads, sources, args.batch_sizes,
                                args.batch_1_sentences)
    with open(args.result_file, "w", encoding="utf-8") as f:
        json.dump(result, f)


def _run_worker(workdir: str, extra, base_args) -> dict:
    """Runs this script as a worker process (`--worker ...`); its result."""
    result_file = os.path.join(workdir, "result.json")
    command = [sys.executable, os.path.abspath(__file__), "--result-file", result_file, *base_args, *extra]
    done = subprocess.run(command, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"worker {extra} failed:\n{done.stderr[-3000:]}")
    with open(result_file, encoding="utf-8") as f:
        return json.load(f)


def flop_per_target_token(model, source_per_target: float) -> dict:
    """Training FLOPs per target token: 6 x the weights each token multiplies (2 forward, 4 backward; Kaplan
    et al. 2020, https://arxiv.org/abs/2001.08361, section 2.1): the encoder's weights once per source token
    (`source_per_target` source tokens per target token), the decoder's and the output projection's
    (d_model x V) once per target token. Embedding lookups, attention scores and the softmax are left out
    (a few % at Multi30k's sentence lengths)."""
    encoder = sum(layer.count_params() for layer in model.encoder_layers) + model.encoder_norm.count_params()
    decoder = sum(layer.count_params() for layer in model.decoder_layers) + model.decoder_norm.count_params()
    projection = model.d_model * model.vocabulary_size
    return {"encoder": encoder, "decoder": decoder, "projection": projection,
            "flop": 6 * (encoder * source_per_target + decoder + projection)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", help="--output-dir of a finished tfx-nmt run")
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--batch-1-sentences", type=int, default=200)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=[name for name in ENGINES if name != COMPARED],
                        choices=list(ENGINES))
    parser.add_argument("--compare-saved-model", help="a SavedModel of the same weights exported by another "
                        "version of this code, timed beside this checkout's (engine \"SavedModel cmp\")")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--intra-threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sources-file", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare_saved_model and COMPARED not in args.engines:
        args.engines.insert(1, COMPARED)
    if COMPARED in args.engines and not args.compare_saved_model:
        parser.error(f"engine {COMPARED!r} needs --compare-saved-model")
    if args.worker:
        _worker(args)
        return
    # Imported here: the CTranslate2 worker processes load neither TensorFlow nor the Keras model code.
    from corpora import read_corpus
    from finished_run import read_summary, restore_run_model
    from tfx_nmt.models.ctranslate2_export import export_ctranslate2
    from tfx_nmt.models.export import TranslatorServingModule, export_serving_model
    from tfx_nmt.scoring.translation_metrics import corpus_bleu
    from tfx_nmt.text.normalization import normalize
    from tfx_nmt.text.subword import SubwordEncoder
    from tfx_nmt.text.tokenizers import SentencePieceTokenizer

    print(machine_line(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes share this machine)", flush=True)
    summary = read_summary(args.run_dir)
    run = restore_run_model(args.run_dir)
    pairs = read_corpus(args.data_dir, "en", "de", {"test": args.sentences})["test"]
    sources, references = [s for s, _ in pairs], [normalize(t) for _, t in pairs]

    config = run.config
    with tempfile.TemporaryDirectory() as workdir:
        module = TranslatorServingModule(run.model, SentencePieceTokenizer(run.tokenizer_model),
                                         config.max_decode_length_a, config.max_decode_length_b, config.beam_size,
                                         config.length_penalty_alpha)
        # The SavedModel as this checkout exports it (the same graph a pushed version of this code holds).
        saved_model = export_serving_model(module, os.path.join(workdir, "saved_model"), config.model_name)
        model_dirs = {"none": export_ctranslate2(run.model, run.tokenizer_model, module.translation_settings(),
                                                 os.path.join(workdir, "ct2-none")),
                      "int8": export_ctranslate2(run.model, run.tokenizer_model, module.translation_settings(),
                                                 os.path.join(workdir, "ct2-int8"), "int8")}
        sources_file = os.path.join(workdir, "sources.json")
        with open(sources_file, "w", encoding="utf-8") as f:
            json.dump(sources, f)
        base = ["--sources-file", sources_file, "--batch-sizes", *map(str, args.batch_sizes),
                "--batch-1-sentences", str(args.batch_1_sentences)]
        print(f"{len(sources)} test sentences at batch {max(args.batch_sizes)}, {args.batch_1_sentences} at batch 1; "
              f"{config.preset} model d_model {config.d_model}, {config.num_encoder_layers}+"
              f"{config.num_decoder_layers} layers, beam {config.beam_size}; {args.rounds} rounds", flush=True)
        rounds = []
        for number in range(args.rounds):
            results = {}
            for name in args.engines:
                engine, quantization, threads = ENGINES[name]
                model_dir = model_dirs[quantization] if engine != "tensorflow" else \
                    args.compare_saved_model if name == COMPARED else saved_model
                extra = ["--worker", engine, "--model-dir", model_dir] + \
                    (["--intra-threads", str(threads)] if threads is not None else [])
                started = time.perf_counter()
                results[name] = _run_worker(workdir, extra, base)
                print(f"round {number + 1}: {name} in {time.perf_counter() - started:.0f} s", flush=True)
            rounds.append(results)
        peak = _run_worker(workdir, ["--worker", "matmul"], base)
    first = rounds[0]
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    print(f"{'search':6s} {'batch':>5s} {'engine':12s} {'tok/s':>8s} {'x TF':>6s} {'sent/s':>8s} {'p50 ms':>7s} "
          f"{'p95 ms':>7s} {'same':>6s} {'BLEU':>6s}")
    for key in first["SavedModel" if "SavedModel" in first else args.engines[0]]:
        search, batch = key.split()
        count = len(first[args.engines[0]][key]["translations"])
        reference_outputs = first.get("SavedModel", {}).get(key, {}).get("translations")
        base_speed = None
        for name in args.engines:
            median = {field: statistics.median(r[name][key][field] for r in rounds)
                      for field in ("tokens_per_sec", "sentences_per_sec", "p50_ms", "p95_ms")}
            base_speed = base_speed or (median["tokens_per_sec"] if name == "SavedModel" else None)
            outputs = first[name][key]["translations"]
            same = f"{100 * sum(a == b for a, b in zip(outputs, reference_outputs)) / count:5.1f}%" \
                if reference_outputs else ""
            ratio = f"{median['tokens_per_sec'] / base_speed:5.1f}x" if base_speed else ""
            latency = f"{median['p50_ms']:>7.1f} {median['p95_ms']:>7.1f}" if batch == "1" else f"{'':>7s} {'':>7s}"
            bleu = corpus_bleu(outputs, references[:count]).score
            print(f"{search:6s} {batch:>5s} {name:12s} {median['tokens_per_sec']:>8.0f} {ratio:>6s} "
                  f"{median['sentences_per_sec']:>8.2f} {latency} {same:>6s} {bleu:>6.2f}", flush=True)
    for name in args.engines:
        for batch in args.batch_sizes:
            speed = {search: statistics.median(r[name][f"{search} {batch}"]["sentences_per_sec"] for r in rounds)
                     for search in SEARCHES}
            print(f"{name}: beam search costs {speed['greedy'] / speed['beam']:.2f}x greedy search at batch {batch} "
                  f"(seconds per sentence)")
    encoder = SubwordEncoder(run.tokenizer_model)
    ratio = sum(len(encoder.encode(s)) for s in sources) / sum(len(encoder.encode(t)) for t in references)
    flop = flop_per_target_token(run.model, ratio)
    tokens_per_sec = summary["train_target_tokens_per_sec"]
    achieved = tokens_per_sec * flop["flop"] / 1e9
    print(f"\nmatmul peak (TensorFlow 2048x2048): {peak['float32']:.0f} GFLOP/s float32, {peak['bfloat16']:.0f} "
          f"GFLOP/s bfloat16")
    print(f"training FLOP per target token: 6 x (encoder {flop['encoder']:,} x {ratio:.2f} source tokens per target "
          f"token + decoder {flop['decoder']:,} + projection {flop['projection']:,}) = {flop['flop'] / 1e6:.2f} MFLOP")
    print(f"Trainer of the run: {tokens_per_sec:,.0f} target tokens/s = {achieved:.1f} GFLOP/s = "
          f"{100 * achieved / peak['float32']:.1f}% of the float32 peak, {100 * achieved / peak['bfloat16']:.1f}% of "
          f"the bfloat16 peak (measured in the run, not now)")


if __name__ == "__main__":
    main()
