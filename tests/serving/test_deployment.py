"""`tfx-nmt serving-config` and the pushed-model lookup of `tfx-nmt translate`."""
import gzip
import os

import pytest
import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfx_nmt.cli import main
from tfx_nmt.serving.translate_command import TranslateFileError, newest_pushed_version, read_input_lines


def test_serving_config_writes_models_config_and_manifests(tmp_path, capsys):
    config_dir = tmp_path / "deploy"
    assert main(["serving-config", "--config-dir", str(config_dir), "--model-name", "translator",
                 "--num-versions", "2", "--cpu", "2", "--memory", "2Gi", "--replicas", "3"]) == 0
    assert capsys.readouterr().out.split() == [str(config_dir / "models.config"), str(config_dir / "kubernetes.yaml")]
    config = text_format.Parse((config_dir / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    [model] = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == ("translator", "/models/translator", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 2

    config_map, deployment, service = yaml.safe_load_all((config_dir / "kubernetes.yaml").read_text())
    assert [config_map["kind"], deployment["kind"], service["kind"]] == ["ConfigMap", "Deployment", "Service"]
    assert config_map["data"]["models.config"] == (config_dir / "models.config").read_text()
    spec = deployment["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["image"] == "tensorflow/serving:2.16.1"
    assert deployment["spec"]["replicas"] == 3
    assert container["args"] == ["--port=8500", "--rest_api_port=8501", "--model_config_file=/config/models.config"]
    assert [p["containerPort"] for p in container["ports"]] == [8500, 8501]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v1/models/translator", "port": 8501}
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "2Gi"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"model": "/models/translator", "config": "/config"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == "translator-models"
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"] == {"app": "translator"}
    assert [p["port"] for p in service["spec"]["ports"]] == [8500, 8501]


def test_serving_config_host_path_volume(tmp_path, capsys):
    models = tmp_path / "serving" / "translator"
    models.mkdir(parents=True)
    assert main(["serving-config", "--config-dir", str(tmp_path), "--host-model-dir", str(models)]) == 0
    _, deployment, _ = yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text())
    [model_volume] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "model"]
    assert model_volume["hostPath"] == {"path": str(models), "type": "Directory"}


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
    ]
    for args, message in cases:
        assert main(["translate", *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err and len(err.splitlines()) == 1


def test_translate_signature_must_be_a_translation_signature(capsys):
    with pytest.raises(SystemExit):
        main(["translate", "--batch-size", "0", "A man."])
    assert "argument --batch-size: must be at least 1, got 0" in capsys.readouterr().err
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
    assert read_input_lines(str(mac)) == ["A man.", "", "Two dogs."]
    windows = tmp_path / "windows.txt"
    windows.write_bytes("A man.\r\nTwo\u2028dogs.".encode())
    assert read_input_lines(str(windows)) == ["A man.", "Two\u2028dogs."]
    compressed = tmp_path / "en.txt"
    compressed.write_bytes(gzip.compress(b"A man.\n"))
    with pytest.raises(TranslateFileError) as error:
        read_input_lines(str(compressed))
    assert str(error.value) == f"{compressed}: holds gzip-compressed data; decompress it first"
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("A man.\n".encode("utf-16"))
    with pytest.raises(TranslateFileError) as error:
        read_input_lines(str(utf16))
    assert str(error.value) == (f"{utf16}: holds UTF-16 text (it starts with a UTF-16 byte order mark); convert it "
                                f"to UTF-8, e.g. iconv -f UTF-16 -t UTF-8")
