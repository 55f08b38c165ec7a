"""`kubeflow/Dockerfile` stays in step with the layout. No Docker engine runs here, so the image itself is
not built: the test reads the file as Docker would, and checks that it copies every package folder and
setup.py's inputs, installs them as the tfx_nmt package and leaves no source folder in the working
directory, where it would shadow the installed package for every `python -m` a component runs."""
import os
import re

from processes import REPO, package_folders

DOCKERFILE = os.path.join(REPO, "kubeflow", "Dockerfile")


def instructions():
    """(instruction, arguments) of each line of the Dockerfile, continuation lines joined."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_copies_every_package_folder_and_setup_inputs_and_installs_them():
    copies = [args.split() for op, args in instructions() if op == "COPY"]
    copied = {source: destination for *sources, destination in copies for source in sources}
    for path in ["setup.py", "README.md", "requirements.lock", *package_folders()]:
        assert path in copied, path
        assert os.path.exists(os.path.join(REPO, path)), path
    build_dir = copied["setup.py"].rstrip("/")
    for folder in package_folders():
        assert copied[folder].rstrip("/") == f"{build_dir}/{folder}", folder
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert f"--no-deps {build_dir}" in runs and f"rm -rf {build_dir}" in runs
    workdir = [args for op, args in instructions() if op == "WORKDIR"][-1]
    assert not build_dir.startswith(workdir)
    assert "import tfx_nmt.components" in runs and "tfx_nmt.kubeflow" in runs


def test_the_build_context_keeps_environments_and_outputs_out():
    with open(os.path.join(REPO, ".dockerignore")) as f:
        ignored = set(f.read().split())
    assert {".venv", "outputs", "build", ".git"} <= ignored
