"""What TF Serving relies on, proven on the pushed smoke model without the model server binary: only core
and allow-listed tensorflow_text ops, loading and translating in a fresh process with the pipeline's
artifacts gone, the documented signatures in `saved_model_cli`."""
import json
import math
import os
import shutil
import subprocess
import sys

from processes import fresh_python
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.serving.op_check import ALLOWED_TENSORFLOW_TEXT_OPS

PARAGRAPH = " ".join(["Two dogs run on the beach at sunset."] * 250)  # 2,000 words
EDGE_INPUTS = ["", "   ", PARAGRAPH, "hello 😀 world", "ผู้ชายสวมเสื้อสีแดงกำลังขี่จักรยาน",
               "一个穿红衬衫的男人在骑自行车。", "A man in a red shirt."]


def test_graph_has_only_core_and_allowed_tensorflow_text_ops(smoke_run):
    pushed = smoke_run[1]["pushed_model_dir"]
    # A process that imports tensorflow but not tensorflow_text: there, registered ops are core ops.
    result = fresh_python(f"""
        import json
        from tfx_nmt.serving import op_check
        print(json.dumps({{"ops": sorted(op_check.graph_ops({pushed!r})),
                          "disallowed": sorted(op_check.disallowed_ops({pushed!r}))}}))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["disallowed"] == []
    assert set(ALLOWED_TENSORFLOW_TEXT_OPS) <= set(out["ops"])
    assert not any(op.startswith("Xla") or op.startswith("Py") or "PyFunc" in op for op in out["ops"])
    # The decoding loops and the cache appends are in the graph.
    assert {"While", "TopKV2", "ConcatV2"} <= set(out["ops"])


def test_fresh_process_translates_edge_inputs_without_the_pipeline_artifacts(smoke_run, tmp_path):
    output_dir, summary, _ = smoke_run
    pushed = summary["pushed_model_dir"]
    with open(os.path.join(pushed, "saved_model.pb"), "rb") as f:
        assert output_dir.encode() not in f.read()
    # Everything the pipeline wrote except the pushed model goes away for the duration of the test.
    moved = {name: tmp_path / name for name in ("pipeline_root", "metadata.sqlite")}
    for name, away in moved.items():
        shutil.move(os.path.join(output_dir, name), away)
    try:
        result = fresh_python(f"""
            import json, sys
            import tensorflow as tf
            import tensorflow_text  # noqa: F401
            model = tf.saved_model.load({pushed!r})
            inputs = json.loads({json.dumps(EDGE_INPUTS)!r})
            out = {{}}
            for signature in ("serving_default", "translate_greedy"):
                result = model.signatures[signature](text=tf.constant(inputs))
                out[signature] = {{"translations": [t.decode() for t in result["translation"].numpy()],
                                   "scores": result["log_probability_per_token"].numpy().tolist()}}
            prefix = " ".join(inputs[2].split()[:200])
            out["prefix"] = model.signatures["serving_default"](text=tf.constant([prefix]))["translation"].numpy()[0].decode()
            out["lengths"] = model.signatures["tokenize"](text=tf.constant(inputs))["lengths"].numpy().tolist()
            out["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("tfx_nmt", "tfx", "keras_hub", "keras"))
            print(json.dumps(out))
        """)
    finally:
        for name, away in moved.items():
            shutil.move(away, os.path.join(output_dir, name))
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["modules"] == []
    max_source_length = get_preset("smoke").max_source_length
    # BOS + EOS for the empty inputs; the paragraph truncated to the maximum source length.
    assert out["lengths"][:3] == [2, 2, max_source_length]
    assert all(2 < n <= max_source_length for n in out["lengths"][3:])
    for signature in ("serving_default", "translate_greedy"):
        translations, scores = out[signature]["translations"], out[signature]["scores"]
        assert len(translations) == len(scores) == 7
        assert translations[:2] == ["", ""] and scores[:2] == [0.0, 0.0]
        assert all(math.isfinite(s) and s < 0 for s in scores[2:]), scores
        assert translations[6].strip()
    # Only the first max_source_length - 2 pieces count: 200 of the 2,000 words translate the same.
    assert out["prefix"] == out["serving_default"]["translations"][2]


def test_saved_model_cli_shows_the_documented_signatures(smoke_run):
    pushed = smoke_run[1]["pushed_model_dir"]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", pushed, "--all"], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    signatures = {}
    for block in result.stdout.split("signature_def['")[1:]:
        name, body = block.split("']", 1)
        tensors, kind = {}, None
        lines = body.splitlines()
        for i, line in enumerate(lines):
            line = line.strip()
            if line.startswith(("inputs['", "outputs['")):
                kind, tensor = line.split("['")[0], line.split("['")[1].split("']")[0]
                dtype = lines[i + 1].split(":")[1].strip()
                shape = lines[i + 2].split(":")[1].strip()
                tensors[f"{kind}:{tensor}"] = (dtype, shape)
        signatures[name] = tensors
    text = ("DT_STRING", "(-1)")
    assert signatures["serving_default"] == signatures["translate_greedy"] == {
        "inputs:text": text, "outputs:translation": text, "outputs:log_probability_per_token": ("DT_FLOAT", "(-1)")}
    assert signatures["score"] == {"inputs:source": text, "inputs:target": text,
                                   "outputs:log_probability": ("DT_FLOAT", "(-1)"),
                                   "outputs:num_tokens": ("DT_INT32", "(-1)")}
    beams = f"(-1, {get_preset('smoke').beam_size})"
    assert signatures["translate_n_best"] == {"inputs:text": text, "outputs:translations": ("DT_STRING", beams),
                                              "outputs:scores": ("DT_FLOAT", beams)}
    assert signatures["tokenize"] == {"inputs:text": text, "outputs:token_ids": ("DT_INT32", "(-1, -1)"),
                                      "outputs:lengths": ("DT_INT32", "(-1)")}
    assert "tensorflow/serving/predict" in result.stdout
