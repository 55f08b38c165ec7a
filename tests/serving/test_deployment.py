"""`tfx-nmt serving-config` and the pushed-model lookup of `tfx-nmt translate`."""
import gzip
import os

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfx_nmt.cli import main
from tfx_nmt.serving.serving_config_protos import BatchingParameters, MonitoringConfig
from tfx_nmt.serving.translate_command import TranslateFileError, input_lines, newest_pushed_version


def _config_args(container):
    """{flag: value} of the model server's `--flag=value` arguments."""
    return dict(arg[2:].split("=", 1) for arg in container["args"])


def test_serving_config_writes_models_config_and_manifests(tmp_path, capsys):
    """Every file parses: the TF Serving configs with their protos (text format), the manifests as YAML.
    (No model server or cluster runs here: see tf_serving_protocol.py.)"""
    config_dir = tmp_path / "deploy"
    assert main(["serving-config", "--config-dir", str(config_dir), "--model-name", "translator",
                 "--num-versions", "2", "--cpu", "2", "--memory", "2Gi", "--replicas", "3",
                 "--memory-limit", "3Gi", "--max-batch-size", "32"]) == 0
    names = ["models.config", "batching.config", "monitoring.config", "kubernetes.yaml"]
    assert capsys.readouterr().out.split() == [str(config_dir / name) for name in names]
    config = text_format.Parse((config_dir / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    [model] = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("translator", "/models/translator", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 2
    batching = text_format.Parse((config_dir / "batching.config").read_text(), BatchingParameters())
    assert (batching.max_batch_size.value, batching.batch_timeout_micros.value, batching.num_batch_threads.value,
            batching.max_enqueued_batches.value) == (32, 5000, 2, 100)  # 2 threads: the CPU limit's cores
    assert batching.pad_variable_length_inputs is True and list(batching.allowed_batch_sizes) == []
    monitoring = text_format.Parse((config_dir / "monitoring.config").read_text(), MonitoringConfig())
    assert (monitoring.prometheus_config.enable, monitoring.prometheus_config.path) == (
        True, "/monitoring/prometheus/metrics")

    config_map, deployment, service = yaml.safe_load_all((config_dir / "kubernetes.yaml").read_text())
    assert [config_map["kind"], deployment["kind"], service["kind"]] == ["ConfigMap", "Deployment", "Service"]
    assert config_map["data"] == {name: (config_dir / name).read_text() for name in names[:3]}
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["image"] == "tensorflow/serving:2.16.1"
    assert deployment["spec"]["replicas"] == 3
    assert _config_args(container) == {
        "port": "8500", "rest_api_port": "8501", "model_config_file": "/config/models.config",
        "monitoring_config_file": "/config/monitoring.config", "enable_batching": "true",
        "batching_parameters_file": "/config/batching.config"}
    assert [p["containerPort"] for p in container["ports"]] == [8500, 8501]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v1/models/translator", "port": 8501}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 8500}
    assert container["resources"] == {"requests": {"cpu": "2", "memory": "2Gi"},
                                      "limits": {"cpu": "2", "memory": "3Gi"}}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"model": "/models/translator", "config": "/config"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == "translator-models"
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"] == {"app": "translator"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels == deployment["metadata"]["labels"] == service["metadata"]["labels"] == {
        "app": "translator", "app.kubernetes.io/name": "translator", "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/part-of": "tfx-nmt", "app.kubernetes.io/version": "2.16.1"}
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8501",
        "prometheus.io/path": "/monitoring/prometheus/metrics"}
    assert [p["port"] for p in service["spec"]["ports"]] == [8500, 8501]


def test_serving_config_pins_a_model_version_and_can_turn_batching_off(tmp_path, capsys):
    assert main(["serving-config", "--config-dir", str(tmp_path), "--model-version", "1733312345",
                 "--no-batching", "--image", "registry.example/serving:2.16.1-gpu"]) == 0
    assert not (tmp_path / "batching.config").exists()
    config = text_format.Parse((tmp_path / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    policy = config.model_config_list.config[0].model_version_policy
    assert policy.WhichOneof("policy_choice") == "specific" and list(policy.specific.versions) == [1733312345]
    config_map, deployment, _ = yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text())
    assert sorted(config_map["data"]) == ["models.config", "monitoring.config"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "enable_batching" not in _config_args(container)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert (labels["tfx-nmt/model-version"], labels["app.kubernetes.io/version"]) == ("1733312345", "2.16.1-gpu")
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "translator"}


def test_serving_config_writes_a_kserve_inference_service(tmp_path, capsys):
    assert main(["serving-config", "--config-dir", str(tmp_path), "--kserve", "--model-name", "en-de",
                 "--storage-uri", "gs://bucket/serving/en-de", "--cpu", "500m", "--replicas", "2"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / n) for n in
                                               ("batching.config", "monitoring.config", "kserve.yaml")]
    assert not (tmp_path / "models.config").exists() and not (tmp_path / "kubernetes.yaml").exists()
    batching = text_format.Parse((tmp_path / "batching.config").read_text(), BatchingParameters())
    assert batching.num_batch_threads.value == 1  # 500m rounds up to one core
    config_map, service = yaml.safe_load_all((tmp_path / "kserve.yaml").read_text())
    assert (service["apiVersion"], service["kind"], service["metadata"]["name"]) == (
        "serving.kserve.io/v1beta1", "InferenceService", "en-de")
    assert service["metadata"]["annotations"]["prometheus.kserve.io/path"] == "/monitoring/prometheus/metrics"
    predictor = service["spec"]["predictor"]
    assert predictor["minReplicas"] == 2
    tensorflow = predictor["tensorflow"]
    assert (tensorflow["storageUri"], tensorflow["runtimeVersion"]) == ("gs://bucket/serving/en-de", "2.16.1")
    assert _config_args(tensorflow) == {"monitoring_config_file": "/config/monitoring.config",
                                        "enable_batching": "true",
                                        "batching_parameters_file": "/config/batching.config"}
    assert tensorflow["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    [mount], [volume] = tensorflow["volumeMounts"], predictor["volumes"]
    assert mount["name"] == volume["name"] and volume["configMap"]["name"] == config_map["metadata"]["name"]
    assert sorted(config_map["data"]) == ["batching.config", "monitoring.config"]
    # Default storage: the model volume claim.
    assert main(["serving-config", "--config-dir", str(tmp_path), "--kserve"]) == 0
    _, service = yaml.safe_load_all((tmp_path / "kserve.yaml").read_text())
    assert service["spec"]["predictor"]["tensorflow"]["storageUri"] == "pvc://translator-models"


def test_serving_config_rejects_options_that_do_not_go_together(tmp_path, capsys):
    for args, message in [
        (["--kserve", "--host-model-dir", str(tmp_path)], "--kserve loads the model from --storage-uri"),
        (["--kserve", "--model-version", "3"], "--kserve serves the newest version under --storage-uri"),
        (["--storage-uri", "gs://b/m"], "--storage-uri is for --kserve"),
        (["--cpu-limit", "two"], "--cpu-limit 'two': not a CPU quantity"),
        (["--cpu", "abc"], "--cpu 'abc': not a CPU quantity such as 2, 1.5 or 500m\n"),
        (["--memory", "lots"], "--memory 'lots': not a memory quantity such as 1Gi, 512Mi or 1G\n"),
        (["--memory-limit", "1gb"], "--memory-limit '1gb': not a memory quantity such as 1Gi, 512Mi or 1G\n"),
        (["--cpu", "2", "--cpu-limit", "1"],
         "--cpu-limit 1 is below the --cpu request 2; Kubernetes refuses a limit below the request\n"),
        (["--memory", "1Gi", "--memory-limit", "1000M"],
         "--memory-limit 1000M is below the --memory request 1Gi; Kubernetes refuses a limit below the request\n"),
        (["--model-name", "Bad Name"], "--model-name 'Bad Name': Kubernetes names take lowercase letters, digits "
                                       "and '-', starting with a letter and ending with a letter or digit, at "
                                       "most 63 characters (e.g. translator, en-de)\n"),
    ]:
        assert main(["serving-config", "--config-dir", str(tmp_path / "out"), *args]) == 1
        assert capsys.readouterr().err.startswith(f"tfx-nmt: error: {message}")
    assert not (tmp_path / "out").exists()
    assert main(["serving-config", "--config-dir", str(tmp_path / "ok"), "--cpu", "500m", "--cpu-limit", "1",
                 "--memory", "512Mi", "--memory-limit", "1G", "--model-name", "en-de2"]) == 0


def test_batching_and_monitoring_protos_reject_unknown_fields():
    """The text format is checked field by field: a misspelled field is an error, not ignored."""
    with pytest.raises(text_format.ParseError, match="max_batch_sizes"):
        text_format.Parse("max_batch_sizes { value: 8 }", BatchingParameters())
    with pytest.raises(text_format.ParseError, match="enabled"):
        text_format.Parse("prometheus_config { enabled: true }", MonitoringConfig())


def test_newest_pushed_version(tmp_path):
    for path in ("serving/translator/100", "quick/serving/translator/250", "quick/serving/translator/900",
                 "smoke/serving/other/999"):
        os.makedirs(tmp_path / path)
        (tmp_path / path / "saved_model.pb").write_bytes(b"")
    os.makedirs(tmp_path / "quick/serving/translator/1000")  # no saved_model.pb: a push in progress
    assert newest_pushed_version(str(tmp_path), "translator") == str(tmp_path / "quick/serving/translator/900")
    assert newest_pushed_version(str(tmp_path / "quick"), "translator") == \
        str(tmp_path / "quick/serving/translator/900")
    with pytest.raises(FileNotFoundError, match="no pushed model 'missing'"):
        newest_pushed_version(str(tmp_path), "missing")


def test_translate_reports_bad_model_and_input_in_one_line(tmp_path, capsys):
    """No traceback for what the user fixes: a missing model, an unreadable or non-UTF-8 input."""
    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "saved_model.pb").write_bytes(b"not a protocol buffer")
    bad_utf8 = tmp_path / "en.txt"
    bad_utf8.write_bytes(b"A man.\n\xff\xfe here\n")
    cases = [
        (["--output-dir", str(tmp_path), "A man."],
         f"tfx-nmt: error: no pushed model 'translator' under {tmp_path}"),
        (["--model-dir", str(tmp_path / "empty"), "A man."],
         f"tfx-nmt: error: {tmp_path / 'empty'}: no saved_model.pb; --model-dir takes a SavedModel version"),
        (["--input", str(tmp_path / "missing.txt")],
         f"tfx-nmt: error: {tmp_path / 'missing.txt'}: cannot read (No such file or directory)"),
        (["--input", str(bad_utf8)], f"tfx-nmt: error: {bad_utf8}:2: not UTF-8 (invalid start byte at byte 0)"),
        (["--output", str(tmp_path / "no" / "de.txt"), "A man."],
         f"tfx-nmt: error: {tmp_path / 'no' / 'de.txt'}: its directory does not exist"),
        (["--output", str(tmp_path / "empty"), "A man."],
         f"tfx-nmt: error: {tmp_path / 'empty'}: is a directory; --output takes a file"),
        (["--model-dir", str(corrupt), "A man."], f"tfx-nmt: error: {corrupt}: not a loadable SavedModel ("),
        (["--n-best", "2", "--engine", "ctranslate2", "--model-dir", str(tmp_path), "A man."],
         "tfx-nmt: error: --n-best needs the SavedModel or TF Serving (its translate_n_best signature); the "
         "ctranslate2 engine has none"),
        (["--n-best", "2", "--signature", "translate_greedy", "A man."],
         "tfx-nmt: error: --n-best takes the hypotheses of the beam search; it cannot be used with --signature "
         "translate_greedy"),
    ]
    for args, message in cases:
        assert main(["translate", *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err and len(err.splitlines()) == 1


def test_translate_signature_must_be_a_translation_signature(capsys):
    with pytest.raises(SystemExit):
        main(["translate", "--batch-size", "0", "A man."])
    assert "argument --batch-size: must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["translate", "--n-best", "0", "A man."])
    assert "argument --n-best: must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", "--signature", "score", "A man."])
    assert exit_info.value.code == 2
    assert "argument --signature: invalid choice: 'score' (choose from 'serving_default', 'translate_greedy')" in \
        capsys.readouterr().err


def test_translate_input_lines_are_split_as_corpus_lines(tmp_path):
    """`--input` files follow the corpus files' rules: CR-only line ends split, CRLF and a BOM removed,
    U+2028 kept inside its line, blank lines kept."""
    mac = tmp_path / "mac.txt"
    mac.write_bytes("\ufeffA man.\r\rTwo dogs.\r".encode())
    assert input_lines(str(mac)) == (["A man.", "", "Two dogs."], 3)
    windows = tmp_path / "windows.txt"
    windows.write_bytes("A man.\r\nTwo\u2028dogs.".encode())
    assert input_lines(str(windows)) == (["A man.", "Two\u2028dogs."], 2)
    compressed = tmp_path / "en.txt"
    compressed.write_bytes(gzip.compress(b"A man.\n"))
    with pytest.raises(TranslateFileError) as error:
        input_lines(str(compressed))
    assert str(error.value) == f"{compressed}: holds gzip-compressed data; decompress it first"
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("A man.\n".encode("utf-16"))
    with pytest.raises(TranslateFileError) as error:
        input_lines(str(utf16))
    assert str(error.value) == (f"{utf16}: holds UTF-16 text (it starts with a UTF-16 byte order mark); convert it "
                                f"to UTF-8, e.g. iconv -f UTF-16 -t UTF-8")


def test_serving_config_and_translate_refuse_a_file_as_directory_and_a_server_that_is_not_a_url(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["serving-config", "--config-dir", str(afile)]) == 1
    assert capsys.readouterr().err == \
        f"tfx-nmt: error: --config-dir {afile}: cannot create the directory ({afile} is a file)\n"
    for server in ("not-a-url", "localhost:8501"):
        assert main(["translate", "--server", server, "A man."]) == 1
        assert capsys.readouterr().err == \
            f"tfx-nmt: error: --server {server}: not a URL; --server takes a URL such as http://HOST:8501\n"


def test_options_that_would_be_ignored_are_refused_in_one_line(tmp_path, capsys):
    en = tmp_path / "en.txt"
    en.write_text("A man.\n")
    for args, message in [
        (["translate", "--model-dir", str(tmp_path), "--input", str(en), "hello"],
         "give the sentences as arguments or in --input, not both"),
        (["translate", "--intra-threads", "2", "A man."],
         "--intra-threads is for --engine ctranslate2; the tensorflow engine ignores it"),
        (["translate", "--model-version", "3", "A man."],
         "--model-version picks a version on a TF Serving server (--server or --grpc); with a local model pass "
         "that version's directory as --model-dir"),
        (["serving-config", "--config-dir", str(tmp_path / "out"), "--no-batching", "--max-batch-size", "8"],
         "--no-batching writes no batching.config: --max-batch-size would be ignored"),
        (["serving-config", "--config-dir", str(tmp_path / "out"), "--kserve", "--storage-uri", "gs://b/m",
          "--volume-claim", "foo"], "--kserve loads the model from --storage-uri; --volume-claim would be ignored"),
        (["compile-kubeflow", "--image", "", "--pipeline-root", "gs://b/r", "--output", str(tmp_path / "p.json")],
         "--image must not be empty"),
        (["compile-kubeflow", "--image", "x", "--pipeline-root", " ", "--output", str(tmp_path / "p.json")],
         "--pipeline-root must not be empty"),
    ]:
        assert main(args) == 1
        assert capsys.readouterr().err == f"tfx-nmt: error: {message}\n"
    assert sorted(os.listdir(tmp_path)) == ["en.txt"]
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", "--model-version", "-3", "A man."])
    assert exit_info.value.code == 2
    assert "argument --model-version: must be at least 1, got -3" in capsys.readouterr().err
