"""Atomic writes: the whole new file or the old one, no temporary file left behind, 0644."""
import json
import os
import stat

import pytest

from tfx_nmt import files


def test_writes_text_json_and_bytes(tmp_path):
    files.write_text(str(tmp_path / "a.txt"), "Ein Mann in einem roten Hemd.\n")
    files.write_json(str(tmp_path / "b.json"), {"bleu": 30.5, "chrf": 58.1})
    files.write_bytes(str(tmp_path / "c.bin"), b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "Ein Mann in einem roten Hemd.\n".encode("utf-8")
    assert (tmp_path / "b.json").read_text() == '{\n  "bleu": 30.5,\n  "chrf": 58.1\n}\n'
    assert json.loads((tmp_path / "b.json").read_text()) == {"bleu": 30.5, "chrf": 58.1}
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\xff"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.json", "c.bin"]


def test_replaces_an_existing_file_and_makes_it_0644(tmp_path):
    path = tmp_path / "run_summary.json"
    path.write_text("old")
    os.chmod(path, 0o600)
    files.write_json(str(path), [1, 2])
    assert path.read_text() == "[\n  1,\n  2\n]\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(tmp_path) == ["run_summary.json"]


def test_a_failed_write_leaves_the_old_target_and_no_temporary_file(tmp_path):
    # The target is a non-empty directory: the rename fails after the temporary file was written.
    target = tmp_path / "report.html"
    target.mkdir()
    (target / "keep").write_text("old")
    with pytest.raises(OSError):
        files.write_text(str(target), "<html></html>")
    assert (target / "keep").read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_a_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "models.config"
    path.write_text("old")

    def refuse(source, destination):
        raise PermissionError(13, "Permission denied", destination)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        files.write_text(str(path), "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["models.config"]


def test_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        files.write_text(str(tmp_path / "missing" / "a.txt"), "x")
    assert os.listdir(tmp_path) == []


def test_remote_paths_go_through_tf_io_gfile():
    import tensorflow as tf

    directory = "ram://tfx-nmt-files-test"
    tf.io.gfile.makedirs(directory)
    files.write_json(f"{directory}/training_time.json", {"150": {"train_seconds": 12.5}})
    files.write_json(f"{directory}/training_time.json", {"200": {"train_seconds": 17.0}})
    with tf.io.gfile.GFile(f"{directory}/training_time.json") as f:
        assert json.load(f) == {"200": {"train_seconds": 17.0}}
    assert tf.io.gfile.listdir(directory) == ["training_time.json"]


def test_make_directories_names_the_file_in_the_way(tmp_path):
    files.make_directories(str(tmp_path / "a" / "b"), "--config-dir")
    assert os.path.isdir(tmp_path / "a" / "b")
    (tmp_path / "afile").write_text("")
    with pytest.raises(files.DirectoryError) as error:
        files.make_directories(str(tmp_path / "afile" / "sub" / "dir"), "--config-dir")
    assert str(error.value) == (f"--config-dir {tmp_path / 'afile' / 'sub' / 'dir'}: cannot create the directory "
                                f"({tmp_path / 'afile'} is a file)")
    files.make_directories("", "--output")
    files.make_directories("gs://bucket/dir", "--output")
    assert not os.path.exists("gs:")
