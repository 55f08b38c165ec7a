"""`compile-kubeflow` and `schedule --dry-run`: offline, no cluster, no network."""
import http.server
import json
import os
import threading
import urllib.parse

import pytest
import yaml

from processes import fresh_python
from tfx_nmt import cli, contract
from tfx_nmt.pipeline.pipeline import create_pipeline
from tfx_nmt.pipeline.presets import get_preset

IMAGE = "registry.example.com/tfx-nmt:1.2.3"
PIPELINE_ROOT = "gs://nmt-bucket/root"
DATA_ROOT = "gs://nmt-bucket/multi30k"
BEAM_ARGS = ["--runner=DataflowRunner", "--region=europe-west4"]
SPAN_PATTERNS = {"train": "span-{SPAN}/train.*", "eval": "span-{SPAN}/val.*", "test": "span-{SPAN}/test_2016_flickr.*"}
COMPILE_ARGS = ["compile-kubeflow", "--image", IMAGE, "--pipeline-root", PIPELINE_ROOT, "--data-root", DATA_ROOT,
                "--preset", "smoke", "--warm-start", "--min-bleu", "12.5"] + [f"--beam-arg={a}" for a in BEAM_ARGS] + [
                    arg for split, pattern in SPAN_PATTERNS.items() for arg in (f"--{split}-pattern", pattern)]
RESOLVER = contract.LATEST_BLESSED_MODEL_RESOLVER


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The same pipeline compiled twice by the CLI: (path of the first, path of the second)."""
    directory = tmp_path_factory.mktemp("kubeflow")
    paths = [str(directory / "first" / "pipeline.json"), str(directory / "second.json")]
    for path in paths:
        assert cli.main(COMPILE_ARGS + ["--output", path]) == 0
    return paths


@pytest.fixture(scope="module")
def job(compiled):
    with open(compiled[0]) as f:
        return json.load(f)


def local_edges(config, tmp_path):
    """{(upstream id, downstream id)} of the pipeline the local runner builds from `config`."""
    pipeline = create_pipeline(config, "local", str(tmp_path / "root"), str(tmp_path / "data"),
                               str(tmp_path / "serving"))
    ids = [c.id for c in pipeline.components]
    edges = {(u.id, c.id) for c in pipeline.components for u in c.upstream_nodes}
    return ids, edges


def kfp_edges(spec):
    """{(upstream, downstream)} of a KFP spec: dependent tasks and artifact producers, the resolver's two
    KFP tasks (`<id>-model-blessing-resolver`, `<id>-model-resolver`) folded back into its component id."""
    def component(task):
        return RESOLVER if task.startswith(RESOLVER + "-") else task

    edges = set()
    for name, task in spec["root"]["dag"]["tasks"].items():
        upstream = set(task.get("dependentTasks", []))
        upstream |= {a["taskOutputArtifact"]["producerTask"] for a in task.get("inputs", {}).get("artifacts", {}).values()
                     if "taskOutputArtifact" in a}
        edges |= {(component(u), component(name)) for u in upstream if component(u) != component(name)}
    return {component(t) for t in spec["root"]["dag"]["tasks"]}, edges


def test_tasks_and_edges_equal_the_local_pipeline(job, tmp_path):
    config = get_preset("smoke").replace(warm_start=True, min_bleu=12.5)
    ids, edges = local_edges(config, tmp_path)
    tasks, compiled_edges = kfp_edges(job["pipelineSpec"])
    assert tasks == set(ids)
    assert compiled_edges == edges
    # With warm start, the latest blessed model feeds the Trainer as well as the evaluator's baseline.
    assert edges == {
        ("ParallelCorpusExampleGen", "StatisticsGen"), ("StatisticsGen", "SchemaGen"),
        ("StatisticsGen", "ExampleValidator"), ("SchemaGen", "ExampleValidator"),
        ("ParallelCorpusExampleGen", "TextCleaner"), ("ExampleValidator", "TextCleaner"),
        ("TextCleaner", "SubwordTokenizer"), ("SubwordTokenizer", "Trainer"), (RESOLVER, "Trainer"),
        ("TextCleaner", "TranslationEvaluator"), ("Trainer", "TranslationEvaluator"),
        (RESOLVER, "TranslationEvaluator"), ("Trainer", "Pusher"), ("TranslationEvaluator", "Pusher"),
        # The documents: the model card before the Pusher, which stages it; the report after it.
        ("ParallelCorpusExampleGen", "ModelCardGen"), ("ParallelCorpusExampleGen", "RunReport"),
        ("TextCleaner", "ModelCardGen"), ("Trainer", "ModelCardGen"), ("TranslationEvaluator", "ModelCardGen"),
        ("ModelCardGen", "Pusher"),
        ("TextCleaner", "RunReport"), ("Trainer", "RunReport"), ("TranslationEvaluator", "RunReport"),
        ("Pusher", "RunReport"),
    }


def test_without_warm_start_the_trainer_does_not_wait_for_the_resolver(tmp_path):
    _, edges = local_edges(get_preset("smoke"), tmp_path)
    assert (RESOLVER, "Trainer") not in edges and (RESOLVER, "TranslationEvaluator") in edges


def test_image_code_and_beam_args(job, tmp_path):
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    containers = {name: e["container"] for name, e in executors.items() if "container" in e}
    ids, _ = local_edges(get_preset("smoke"), tmp_path)
    assert set(containers) == {f"{c}_executor" for c in ids if c != RESOLVER}
    assert {c["image"] for c in containers.values()} == {IMAGE}
    class_paths = {name: c["args"][c["args"].index("--executor_class_path") + 1]
                   for name, c in containers.items() if "--executor_class_path" in c["args"]}
    ours = {n: p for n, p in class_paths.items() if p.startswith("tfx_nmt.")}
    assert ours == {
        "ParallelCorpusExampleGen_executor":
            "tfx_nmt.components.parallel_corpus_example_gen.Executor",
        "TextCleaner_executor": "tfx_nmt.components.text_cleaner.TextCleaner_Executor",
        "SubwordTokenizer_executor": "tfx_nmt.components.subword_tokenizer.SubwordTokenizer_Executor",
        "Trainer_executor": "tfx_nmt.components.trainer.Executor",
        "TranslationEvaluator_executor":
            "tfx_nmt.components.translation_evaluator.TranslationEvaluator_Executor",
        "Pusher_executor": "tfx_nmt.components.atomic_push.AtomicPushExecutor",
        "ModelCardGen_executor": "tfx_nmt.reporting.document_components.ModelCardGenExecutor",
        "RunReport_executor": "tfx_nmt.reporting.document_components.RunReportExecutor",
    }
    assert not [p for p in class_paths.values() if "__main__" in p]
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    assert trainer["run_fn"]["runtimeValue"]["constant"] == "tfx_nmt.models.trainer.run_fn"
    for beam_component in ("ParallelCorpusExampleGen", "TextCleaner", "SubwordTokenizer", "StatisticsGen"):
        assert containers[f"{beam_component}_executor"]["args"][-2:] == BEAM_ARGS, beam_component


def test_example_gen_runs_tfx_file_based_driver_before_the_cache_check_with_the_split_patterns(job):
    # KubeflowV2DagRunner gives a FileBasedExampleGen TFX's file-based driver as the task's pre-cache-check
    # hook: it resolves the latest span and fingerprints the files the patterns match before the cache is
    # consulted, so new or changed files are read even with caching on.
    container = job["pipelineSpec"]["deploymentSpec"]["executors"]["ParallelCorpusExampleGen_executor"]["container"]
    hook = container["lifecycle"]["preCacheCheck"]
    assert hook["command"] == ["python", "-m", "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"]
    assert hook["args"][:2] == ["--json_serialized_invocation_args", "{{$}}"]
    assert hook["args"][-2:] == BEAM_ARGS
    parameters = job["pipelineSpec"]["root"]["dag"]["tasks"]["ParallelCorpusExampleGen"]["inputs"]["parameters"]
    input_config = json.loads(parameters["input_config"]["runtimeValue"]["constant"])
    assert input_config == {"splits": [{"name": split, "pattern": pattern} for split, pattern in SPAN_PATTERNS.items()]}
    # With {SPAN} in the patterns, the driver takes the latest span.
    assert json.loads(parameters["range_config"]["runtimeValue"]["constant"]) == {"rolling_range": {"num_spans": 1}}
    # No fingerprint of the pipeline's own: the task's parameters are the corpus' and TFX's ExampleGen's.
    assert set(parameters) == {"input_base", "input_config", "output_config", "output_data_format",
                               "output_file_format", "range_config", "source_language", "target_language",
                               "on_bad_line", "max_train_pairs", "max_eval_pairs", "max_test_pairs"}
    assert all(task.get("cachingOptions", {}).get("enableCache") for task in job["pipelineSpec"]["root"]["dag"][
        "tasks"].values() if not task["taskInfo"]["name"].startswith(RESOLVER))


def test_named_further_test_sets_are_example_gen_splits_on_kubeflow(tmp_path):
    # The data root is a runtime parameter, unknown when the pipeline compiles: only the sets named by
    # --extra-test-sets are splits (read like the test split, scored beside it by the evaluator).
    output = str(tmp_path / "pipeline.json")
    assert cli.main(COMPILE_ARGS + ["--output", output, "--extra-test-sets", "test_2017_flickr,test_mscoco"]) == 0
    with open(output) as f:
        parameters = json.load(f)["pipelineSpec"]["root"]["dag"]["tasks"]["ParallelCorpusExampleGen"]["inputs"][
            "parameters"]
    assert json.loads(parameters["input_config"]["runtimeValue"]["constant"]) == {"splits": [
        {"name": split, "pattern": pattern} for split, pattern in SPAN_PATTERNS.items()] + [
        {"name": "test_2017_flickr", "pattern": "span-{SPAN}/test_2017_flickr.*"},
        {"name": "test_mscoco", "pattern": "span-{SPAN}/test_mscoco.*"}]}


def _output_types(spec, component):
    """{output key: artifact type name} of a compiled component (the title of its instance schema)."""
    artifacts = spec["components"][component]["outputDefinitions"]["artifacts"]
    return {key: yaml.safe_load(value["artifactType"]["instanceSchema"])["title"] for key, value in artifacts.items()}


def test_the_documents_are_artifacts_of_their_own_types(job):
    spec = job["pipelineSpec"]
    assert _output_types(spec, "ModelCardGen") == {"model_card": "tfx_nmt.ModelCard"}
    assert _output_types(spec, "RunReport") == {"report": "tfx_nmt.RunReport"}
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["Pusher"]["inputs"]["artifacts"]["model_card"] == {
        "taskOutputArtifact": {"outputArtifactKey": "model_card", "producerTask": "ModelCardGen"}}
    assert "infra_blessing" not in tasks["Pusher"]["inputs"]["artifacts"] and "InfraValidator" not in tasks


def test_infra_validate_puts_tfxs_infra_validator_between_the_evaluator_and_the_pusher(tmp_path):
    """The compiled spec only: running it needs a Kubeflow cluster (the validator starts a TF Serving pod
    through the Kubernetes API), which this machine has not."""
    from tfx_nmt.kubeflow.compile import infra_validator_serving_spec

    path = str(tmp_path / "pipeline.json")
    assert cli.main(COMPILE_ARGS + ["--output", path, "--infra-validate"]) == 0
    with open(path) as f:
        spec = json.load(f)["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    validator = tasks["InfraValidator"]
    assert "TranslationEvaluator" in validator["dependentTasks"]
    assert validator["inputs"]["artifacts"] == {
        "model": {"taskOutputArtifact": {"outputArtifactKey": "model", "producerTask": "Trainer"}},
        "examples": {"taskOutputArtifact": {"outputArtifactKey": "cleaned_examples", "producerTask": "TextCleaner"}}}
    parameters = {k: json.loads(v["runtimeValue"]["constant"]) for k, v in validator["inputs"]["parameters"].items()}
    assert parameters == {
        "serving_spec": {"tensorflow_serving": {"image_name": "tensorflow/serving", "tags": ["2.16.1"]},
                         "kubernetes": {}, "model_name": "translator"},
        # LOAD_AND_QUERY: examples and a request spec; TF Serving also replays the model's warm-up file.
        "request_spec": {"tensorflow_serving": {"signature_names": ["serving_default"]}, "split_name": "test",
                         "num_examples": 4},
        "validation_spec": {"max_loading_time_seconds": 600, "num_tries": 3},
    }
    # The README's serving image.
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "README.md")) as f:
        assert "tensorflow/serving:2.16.1" in f.read()
    # The Pusher needs both blessings (TFX's Pusher executor checks every blessing it is given).
    pusher = tasks["Pusher"]["inputs"]["artifacts"]
    assert pusher["infra_blessing"] == {
        "taskOutputArtifact": {"outputArtifactKey": "blessing", "producerTask": "InfraValidator"}}
    assert pusher["model_blessing"] == {
        "taskOutputArtifact": {"outputArtifactKey": "blessing", "producerTask": "TranslationEvaluator"}}
    assert _output_types(spec, "InfraValidator") == {"blessing": "tfx.InfraBlessing"}
    container = spec["deploymentSpec"]["executors"]["InfraValidator_executor"]["container"]
    assert container["image"] == IMAGE
    assert container["args"][container["args"].index("--executor_class_path") + 1] == \
        "tfx_nmt.components.infra_validator.KubeflowV2InfraValidatorExecutor"
    # The local DAG built with the same serving spec has the same tasks and edges.
    config = get_preset("smoke").replace(warm_start=True, min_bleu=12.5)
    pipeline = create_pipeline(config, "local", str(tmp_path / "root"), str(tmp_path / "data"),
                               str(tmp_path / "serving"), serving_spec=infra_validator_serving_spec("translator"))
    ids = [c.id for c in pipeline.components]
    edges = {(u.id, c.id) for c in pipeline.components for u in c.upstream_nodes}
    assert kfp_edges(spec) == (set(ids), edges)
    assert ids.index("TranslationEvaluator") < ids.index("InfraValidator") < ids.index("Pusher")
    assert {("TranslationEvaluator", "InfraValidator"), ("InfraValidator", "Pusher")} <= edges


def test_runtime_parameters_and_their_defaults(job):
    spec = job["pipelineSpec"]
    declared = {k: v["parameterType"] for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert declared == {"data_root": "STRING", "train_args": "STRING", "min_bleu": "NUMBER_DOUBLE"}
    assert job["runtimeConfig"] == {
        "gcsOutputDirectory": PIPELINE_ROOT,
        "parameterValues": {"data_root": DATA_ROOT, "min_bleu": 12.5,
                            "train_args": '{"num_steps": 150, "splits": ["train"]}'},
    }
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["ParallelCorpusExampleGen"]["inputs"]["parameters"]["input_base"] == {
        "componentInputParameter": "data_root"}
    assert tasks["Trainer"]["inputs"]["parameters"]["train_args"] == {"componentInputParameter": "train_args"}
    assert tasks["TranslationEvaluator"]["inputs"]["parameters"]["min_bleu"] == {
        "componentInputParameter": "min_bleu"}
    pusher = json.loads(tasks["Pusher"]["inputs"]["parameters"]["push_destination"]["runtimeValue"]["constant"])
    assert pusher == {"filesystem": {"base_directory": f"{PIPELINE_ROOT}/serving/translator"}}


def test_compiling_twice_gives_identical_bytes_and_kfp_reads_the_spec(compiled, job):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    with open(compiled[0], "rb") as a, open(compiled[1], "rb") as b:
        assert a.read() == b.read()
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == "tfx-nmt-en-de" and spec.schema_version == "2.1.0"


def test_schedule_dry_run_prints_the_requests(compiled, capsys):
    code = cli.main(["schedule", "--host", "http://127.0.0.1:9", "--pipeline", compiled[0],
                     "--cron", "0 0 3 * * *", "--experiment", "nightly", "--param", "min_bleu=20",
                     "--dry-run"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    upload, experiment, recurring = printed["requests"]
    assert printed["dry_run"] is True and printed["host"] == "http://127.0.0.1:9"
    assert upload["call"] == "upload_pipeline" and upload["pipeline_name"] == "tfx-nmt-en-de"
    assert upload["if_pipeline_exists"]["pipeline_version_name"] == "tfx-nmt-en-de-" + upload["package"]["sha256"][:12]
    assert len(upload["package"]["tasks"]) == 13
    assert experiment == {"call": "create_experiment", "name": "nightly"}
    assert recurring == {"call": "create_recurring_run", "arguments": {
        "experiment_id": "<id of the experiment>",
        "job_name": "tfx-nmt-en-de-recurring",
        "cron_expression": "0 0 3 * * *",
        "pipeline_id": "<id of the uploaded pipeline>",
        "version_id": "<id of the uploaded pipeline version>",
        "params": {"data_root": DATA_ROOT, "min_bleu": 20.0,
                   "train_args": '{"num_steps": 150, "splits": ["train"]}'},
        "pipeline_root": PIPELINE_ROOT,
        "max_concurrency": 1,
        "no_catchup": True,
        "enabled": True,
    }}


@pytest.mark.parametrize("cron, message", [
    ("0 3 * * *", "5 field(s)"),
    ("0 0 3 * * * *", "7 field(s)"),
    ("61 0 3 * * *", "bad second '61'"),
    ("0 0 24 * * *", "bad hour '24'"),
    ("0 0 3 * 13 MON", "bad month '13'"),
    ("@daily", "1 field(s)"),
])
def test_schedule_refuses_an_invalid_cron(compiled, capsys, cron, message):
    code = cli.main(["schedule", "--host", "http://127.0.0.1:9", "--pipeline", compiled[0], "--cron", cron,
                     "--experiment", "nightly", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"tfx-nmt: error: invalid cron expression {cron!r}: {message}")
    assert "second minute hour day-of-month month day-of-week" in err


def test_schedule_refuses_an_unknown_parameter_and_a_bad_file(compiled, tmp_path, capsys):
    args = ["schedule", "--host", "http://127.0.0.1:9", "--cron", "0 0 3 * * *", "--experiment", "x", "--dry-run"]
    assert cli.main(args + ["--pipeline", compiled[0], "--param", "train_steps=5"]) == 1
    assert "unknown runtime parameter 'train_steps'; the pipeline has data_root, min_bleu, train_args" in \
        capsys.readouterr().err
    assert cli.main(args + ["--pipeline", compiled[0], "--param", "min_bleu=high"]) == 1
    assert "runtime parameter min_bleu: 'high' is not a NUMBER_DOUBLE" in capsys.readouterr().err
    bad = tmp_path / "pipeline.json"
    bad.write_text('{"pipelineSpec": \n nope}')
    assert cli.main(args + ["--pipeline", str(bad)]) == 1
    assert f"{bad}, line 2: not JSON" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "missing.json")
    assert cli.main(args + ["--pipeline", str(tmp_path / "missing.json")]) == 1
    assert "cannot read the pipeline file" in capsys.readouterr().err


class RecordingKfpApi(http.server.BaseHTTPRequestHandler):
    """The few Kubeflow Pipelines v2beta1 REST endpoints `schedule` calls, answering as an empty KFP
    installation does and recording every request (there is no KFP server to run here)."""

    requests = []
    answers = {
        ("GET", "/apis/v2beta1/healthz"): {"multi_user": False},
        ("GET", "/apis/v2beta1/pipelines"): {},
        ("POST", "/apis/v2beta1/pipelines/upload"): {"pipeline_id": "p-1", "display_name": "tfx-nmt-en-de"},
        ("GET", "/apis/v2beta1/pipelines/p-1/versions"): {
            "pipeline_versions": [{"pipeline_id": "p-1", "pipeline_version_id": "v-1"}]},
        ("GET", "/apis/v2beta1/experiments"): {},
        ("POST", "/apis/v2beta1/experiments"): {"experiment_id": "e-1", "display_name": "nightly"},
        ("POST", "/apis/v2beta1/recurringruns"): {"recurring_run_id": "r-1"},
    }

    def _answer(self, method):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.requests.append({"method": method, "path": path, "query": urllib.parse.parse_qs(query), "body": body})
        answer = self.answers.get((method, path))
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer if answer is not None else {"error": "not found"}).encode())

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def log_message(self, *args):
        pass


def test_schedule_sends_the_dry_run_requests_to_the_server(compiled, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingKfpApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        code = cli.main(["schedule", "--host", host, "--pipeline", compiled[0], "--cron", "0 30 2 * * MON-FRI",
                         "--experiment", "nightly"])
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out[out.index("{\n"):]) == {
        "pipeline_id": "p-1", "version_id": "v-1", "experiment_id": "e-1", "recurring_run_id": "r-1"}
    posts = {r["path"]: r["body"] for r in RecordingKfpApi.requests if r["method"] == "POST"}
    with open(compiled[0]) as f:
        spec = json.load(f)["pipelineSpec"]
    upload = posts["/apis/v2beta1/pipelines/upload"].decode()
    assert yaml.safe_load(upload[upload.index("components:"):upload.rindex("\r\n--")]) == spec
    assert json.loads(posts["/apis/v2beta1/experiments"])["display_name"] == "nightly"
    assert json.loads(posts["/apis/v2beta1/recurringruns"]) == {
        "display_name": "tfx-nmt-en-de-recurring",
        "experiment_id": "e-1",
        "max_concurrency": 1,
        "mode": "ENABLE",
        "no_catchup": True,
        "pipeline_version_reference": {"pipeline_id": "p-1", "pipeline_version_id": "v-1"},
        "runtime_config": {"parameters": {"data_root": DATA_ROOT, "min_bleu": 12.5,
                                          "train_args": '{"num_steps": 150, "splits": ["train"]}'},
                           "pipeline_root": PIPELINE_ROOT},
        "trigger": {"cron_schedule": {"cron": "0 30 2 * * MON-FRI"}},
    }


def test_every_class_path_and_run_fn_of_the_spec_imports_outside_the_checkout(job, tmp_path):
    """What a component's container imports by name, read back from the compiled spec: every executor class
    path and the Trainer's run_fn, in a new process started outside the checkout."""
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"].values()
    paths = {c["args"][c["args"].index("--executor_class_path") + 1] for c in
             (e["container"] for e in executors if "container" in e) if "--executor_class_path" in c["args"]}
    paths.add(job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["run_fn"]
              ["runtimeValue"]["constant"])
    # Seven executors of ours, our Trainer's executor and its run_fn.
    assert len([p for p in paths if p.startswith("tfx_nmt.")]) == 9
    result = fresh_python(f"""
        import importlib
        for path in sorted({sorted(paths)!r}):
            module, name = path.rsplit(".", 1)
            assert callable(getattr(importlib.import_module(module), name)), path
        print("imported")
        """, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "imported"


def test_compile_refuses_an_output_under_a_file_before_compiling(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    code = cli.main(["compile-kubeflow", "--image", IMAGE, "--pipeline-root", PIPELINE_ROOT,
                     "--output", str(afile / "p.json")])
    assert code == 1
    assert capsys.readouterr().err == \
        f"tfx-nmt: error: --output {afile}: cannot create the directory ({afile} is a file)\n"
