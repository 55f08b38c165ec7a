"""The layout of TFX's templates installs as one namespace (setup.py, `package_dir`): the top-level folders
`pipeline/`, `components/`, `models/` and `kubeflow/` are `tfx_nmt.pipeline`, ... in the wheel and in the
editable install, nothing generic lands in site-packages, and the entry points work from any directory."""
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from processes import REPO, fresh_python, package_folders

# Where each top-level folder of the repository lands in an installed tree.
INSTALLED_AS = {"tfx_nmt": "tfx_nmt", "pipeline": "tfx_nmt/pipeline", "components": "tfx_nmt/components",
                "models": "tfx_nmt/models", "kubeflow": "tfx_nmt/kubeflow"}


def source_modules():
    """Every Python file of the package folders, as its path in an installed tree."""
    modules = set()
    for folder in package_folders():
        for root, dirs, files in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            relative = os.path.relpath(root, os.path.join(REPO, folder))
            for name in files:
                if name.endswith(".py"):
                    modules.add(os.path.normpath(os.path.join(INSTALLED_AS[folder], relative, name)))
    return modules


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A non-editable wheel, as `pip wheel --no-deps .` builds it, of a copy of what the Dockerfile copies
    (setup.py, README.md, the package folders): setuptools packages its build/lib copies of the sources, so
    a checkout's leftover build/ could hold modules deleted since."""
    source, directory = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("setup.py", "README.md"):
        shutil.copy(os.path.join(REPO, name), source / name)
    for folder in package_folders():
        shutil.copytree(os.path.join(REPO, folder), source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "-w", str(directory), str(source)], check=True, capture_output=True,
                   cwd=str(directory))
    (path,) = directory.glob("tfx_nmt-*.whl")
    return path


def test_every_package_folder_has_its_place_in_the_namespace():
    assert package_folders() == sorted(INSTALLED_AS)


def test_the_wheel_holds_every_module_under_tfx_nmt_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.split("/")[0].endswith(".dist-info")]
    assert names and all(n.startswith("tfx_nmt/") for n in names), sorted(n for n in names
                                                                         if not n.startswith("tfx_nmt/"))
    assert set(names) == source_modules()
    assert "tfx_nmt/pipeline/pipeline.py" in names and "tfx_nmt/kubeflow/compile.py" in names


def test_the_installed_wheel_imports_every_module_outside_the_checkout(wheel, tmp_path):
    """Installed from the wheel alone (no editable finder in front of it), every module imports, from a
    working directory outside the checkout."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    # bin/ holds the console script; every importable name is under tfx_nmt.
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info")) == ["bin", "tfx_nmt"]
    assert os.listdir(target / "bin") == ["tfx-nmt"]
    modules = sorted(m[:-len(".py")].replace("/", ".").removesuffix(".__init__") for m in source_modules())
    result = fresh_python(f"""
        import importlib, sys
        sys.path.insert(0, {str(target)!r})
        for name in {modules!r}:
            module = importlib.import_module(name)
            assert module.__file__.startswith({str(target)!r}), (name, module.__file__)
        print(len({modules!r}), "modules")
        """, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"{len(modules)} modules"


def test_the_folders_are_not_importable_under_their_bare_names():
    """pytest runs with --import-mode=importlib from its own script, so the checkout is not on sys.path:
    `pipeline`, `models` and `components` are not packages here, and `kubeflow` is not our folder
    (Kubeflow's own SDK namespace is `kubeflow.*`)."""
    assert REPO not in [os.path.abspath(p or os.curdir) for p in sys.path]
    for name in ("pipeline", "components", "models"):
        assert importlib.util.find_spec(name) is None, name
    spec = importlib.util.find_spec("kubeflow")
    assert spec is None or not any(p.startswith(REPO) for p in spec.submodule_search_locations or ())
    assert os.path.dirname(importlib.util.find_spec("tfx_nmt.pipeline.pipeline").origin) == os.path.join(
        REPO, "pipeline")


@pytest.mark.parametrize("command", [
    ["tfx-nmt", "--help"],
    [sys.executable, "-m", "tfx_nmt.cli", "--help"],
    ["tfx-nmt", "run", "--help"],
    ["tfx-nmt", "translate", "--help"],
    ["tfx-nmt", "compile-kubeflow", "--help"],
])
def test_console_script_and_module_entry_points_outside_the_checkout(command, tmp_path):
    if command[0] == "tfx-nmt":
        command = [os.path.join(os.path.dirname(sys.executable), "tfx-nmt")] + command[1:]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("usage: tfx-nmt")
