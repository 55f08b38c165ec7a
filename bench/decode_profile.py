"""Where the time of the in-graph searches goes: greedy and beam search of a model of the `quick` shape,
timed as one graph call each and traced with TensorFlow's profiler, the op time summed by op type.

The model is the one of a finished run (`--run-dir`, real test sentences) or, without one, randomly
initialised (random source ids of `--source-length` tokens; random weights decode until the length limit,
so the figures are per decoding step, not per sentence). Prints the machine line, the median seconds per
call (of `--rounds`), the decoding steps per call and the milliseconds per step, then, per configuration,
the op types that take most of the traced time (TensorFlow's host trace: `tf.profiler.experimental`),
with their share and calls per step.

    python bench/decode_profile.py [--run-dir outputs/quick] [--batch-sizes 64 1] [--rounds 5]
"""
import argparse
import collections
import glob
import os
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf
from machine import machine_line
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from tfx_nmt.models import decoding
from tfx_nmt.models.trainer import build_model
from tfx_nmt.pipeline.presets import get_preset


_CONTAINER_EVENTS = {"Process", "Run", "ExecutorState::Process"}


def op_times(trace_dir: str) -> collections.Counter:
    """{op type: (microseconds, calls)} summed over the host trace of `trace_dir` (TensorFlow ops only)."""
    totals, calls = collections.Counter(), collections.Counter()
    for path in glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    # TensorFlow op events are named "<node name>:<op type>"; the executor's and the
                    # function call's own events (which contain the ops') are left out.
                    op_type = name.rsplit(":", 1)[-1].strip()
                    if ":" not in name or op_type in _CONTAINER_EVENTS or op_type.startswith("__inference"):
                        continue
                    totals[op_type] += event.duration_ps / 1e6
                    calls[op_type] += 1
    return totals, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", help="--output-dir of a finished tfx-nmt run (else random weights)")
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 1])
    parser.add_argument("--source-length", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=14)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    config = get_preset("quick")
    if args.run_dir:
        from corpora import read_corpus
        from finished_run import restore_run_model
        from tfx_nmt.text.tokenizers import SentencePieceTokenizer

        run = restore_run_model(args.run_dir)
        model, config = run.model, run.config
        tokenizer = SentencePieceTokenizer(run.tokenizer_model)
        pairs = read_corpus(args.data_dir, "en", "de", {"test": max(args.batch_sizes)})["test"]
        all_ids, _ = tokenizer.tokenize_tensor(tf.constant([s for s, _ in pairs]), model.max_source_length)
    else:
        # The SavedModel decodes in float32 whatever the training precision (under mixed_bfloat16 the
        # step's float32 activations would meet bf16 kernels in slow SparseMatMul ops); a finished run's
        # model is restored in float32 (`finished_run.restore_run_model`).
        model = build_model(config.replace(mixed_precision="off"), config.vocabulary_size)
        rng = np.random.default_rng(0)
        ids = rng.integers(4, config.vocabulary_size, size=(max(args.batch_sizes), args.source_length))
        ids[:, 0], ids[:, -1] = 2, 3
        all_ids = tf.constant(ids, tf.int32)
    print(f"model d_model {model.d_model}, {model.num_encoder_layers}+{model.num_decoder_layers} layers, vocabulary "
          f"{model.vocabulary_size}, {'trained (' + args.run_dir + ')' if args.run_dir else 'random weights'}; "
          f"beam {config.beam_size}, alpha {config.length_penalty_alpha}", flush=True)

    @tf.function
    def greedy(source_ids):
        max_lengths = decoding.max_decode_lengths(source_ids, config.max_decode_length_a,
                                                  config.max_decode_length_b, model.max_target_length)
        return decoding.greedy_decode(model, source_ids, max_lengths)[0]

    @tf.function
    def beam(source_ids):
        max_lengths = decoding.max_decode_lengths(source_ids, config.max_decode_length_a,
                                                  config.max_decode_length_b, model.max_target_length)
        return decoding.beam_decode(model, source_ids, max_lengths, config.beam_size,
                                    config.length_penalty_alpha)[0]

    searches = {"greedy": greedy, "beam": beam}
    timings = collections.defaultdict(list)
    steps = {}
    for batch_size in args.batch_sizes:
        source_ids = all_ids[:batch_size]
        for name, search in searches.items():
            output = search(source_ids)
            steps[name, batch_size] = int(tf.reduce_max(tf.reduce_sum(tf.cast(output != 0, tf.int32), axis=1))) - 1
    for _ in range(args.rounds):
        for batch_size in args.batch_sizes:
            for name, search in searches.items():
                started = time.perf_counter()
                search(all_ids[:batch_size]).numpy()
                timings[name, batch_size].append(time.perf_counter() - started)
    print(f"\n{'search':6s} {'batch':>5s} {'s/call':>8s} {'steps':>5s} {'ms/step':>8s}  (median of {args.rounds})")
    for (name, batch_size), values in timings.items():
        seconds = statistics.median(values)
        print(f"{name:6s} {batch_size:>5d} {seconds:>8.3f} {steps[name, batch_size]:>5d} "
              f"{1000 * seconds / max(steps[name, batch_size], 1):>8.2f}", flush=True)
    for batch_size in args.batch_sizes:
        for name, search in searches.items():
            with tempfile.TemporaryDirectory() as trace_dir:
                tf.profiler.experimental.start(trace_dir)
                search(all_ids[:batch_size]).numpy()
                tf.profiler.experimental.stop()
                totals, calls = op_times(trace_dir)
            total = sum(totals.values())
            print(f"\n{name} batch {batch_size}: {total / 1000:.1f} ms of op time traced, "
                  f"{sum(calls.values()) / max(steps[name, batch_size], 1):.0f} op calls per step")
            for op_type, micros in totals.most_common(args.top):
                print(f"  {op_type:28s} {micros / 1000:8.1f} ms {100 * micros / total:5.1f}%  "
                      f"{calls[op_type] / max(steps[name, batch_size], 1):6.1f} calls/step")


if __name__ == "__main__":
    main()
