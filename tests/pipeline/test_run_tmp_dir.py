"""The run's temporary directory: a previous run's `tmp/` is emptied, anything else in its place is left
alone and stops the run; an output directory that cannot be used stops it with one line."""
import os
import tempfile

import pytest

from tfx_nmt.cli import main
from tfx_nmt.pipeline.output_dir_lock import OutputDirUnusableError, hold_output_dir
from tfx_nmt.pipeline.run_tmp_dir import TMP_MARKER, ForeignTmpDirError, TmpDirUnusableError, run_tmp_dir


def test_a_previous_runs_tmp_is_emptied_and_removed_at_the_end(tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / TMP_MARKER).write_text("")
    (tmp_path / "tmp" / "left_by_a_killed_run").write_text("x")
    with run_tmp_dir(str(tmp_path)) as path:
        assert path == str(tmp_path / "tmp") == os.environ["TMPDIR"] == tempfile.gettempdir()
        assert os.listdir(path) == [TMP_MARKER]
    assert not (tmp_path / "tmp").exists()
    # An empty tmp/ (a run killed before it wrote the marker) is taken over too.
    (tmp_path / "tmp").mkdir()
    with run_tmp_dir(str(tmp_path)) as path:
        assert os.listdir(path) == [TMP_MARKER]


@pytest.mark.parametrize("kind", ["directory", "file", "symlink"])
def test_a_tmp_that_no_run_made_is_left_alone(tmp_path, kind):
    notes = tmp_path / "elsewhere" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("keep me")
    tmp = tmp_path / "out" / "tmp"
    tmp.parent.mkdir()
    if kind == "directory":
        tmp.mkdir()
        (tmp / "notes.txt").write_text("keep me")
    elif kind == "file":
        tmp.write_text("keep me")
    else:
        tmp.symlink_to(notes.parent, target_is_directory=True)
    what = {"directory": "holds files and no .tfx-nmt-tmp, so no run made it", "file": "is a file",
            "symlink": "is a symbolic link"}[kind]
    with pytest.raises(ForeignTmpDirError, match=f"^{tmp} exists and {what}; "):
        with run_tmp_dir(str(tmp.parent)):
            pass
    assert notes.read_text() == "keep me"
    if kind == "symlink":
        assert tmp.is_symlink()
    else:
        assert (tmp / "notes.txt" if kind == "directory" else tmp).read_text() == "keep me"


def test_an_unusable_output_dir_is_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TFX_NMT_DATA_DIR", str(tmp_path))
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(OutputDirUnusableError, match="Not a directory"):
        with hold_output_dir(str(a_file / "out")):
            pass
    (tmp_path / "out" / "tmp").mkdir(parents=True)
    (tmp_path / "out" / "tmp" / "notes.txt").write_text("keep me")
    for output_dir, message in [
        (a_file, f"tfx-nmt: error: output directory {a_file}: File exists"),
        (tmp_path / "out", f"tfx-nmt: error: {tmp_path / 'out' / 'tmp'} exists and holds files and no "),
    ]:
        assert main(["run", "--preset", "smoke", "--data-dir", str(tmp_path), "--output-dir", str(output_dir)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err and len(err.splitlines()) == 1
    assert (tmp_path / "out" / "tmp" / "notes.txt").read_text() == "keep me"


def test_a_tmp_that_cannot_be_created_is_one_error():
    # /proc refuses new directories, even to root.
    with pytest.raises(TmpDirUnusableError, match=r"^/proc/self/tmp: cannot empty or create it \("):
        with run_tmp_dir("/proc/self"):
            pass
