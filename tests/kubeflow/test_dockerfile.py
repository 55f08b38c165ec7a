"""`kubeflow/Dockerfile` stays in step with the layout. No Docker engine runs here, so the image itself is
not built: the test reads the file as Docker would, and checks that it copies every package folder and
setup.py's inputs, installs them as the tfx_nmt package and leaves no source folder in the working
directory, where it would shadow the installed package for every `python -m` a component runs."""
import os
import re

from processes import REPO, package_folders

DOCKERFILE = os.path.join(REPO, "kubeflow", "Dockerfile")


def instructions(build_args=None):
    """(instruction, arguments) of each line of the Dockerfile, continuation lines joined, `${NAME}` of an
    `ARG NAME=default` replaced as `docker build --build-arg NAME=...` (`build_args`) or the default would."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    lines = [line.strip() for line in text.splitlines()]
    parsed = [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]
    values = dict(args.split("=", 1) for op, args in parsed if op == "ARG")
    values.update(build_args or {})
    return [(op, re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], args)) for op, args in parsed]


def _copied(build_args=None):
    """{source: destination} of the Dockerfile's COPY instructions."""
    copies = [args.split() for op, args in instructions(build_args) if op == "COPY"]
    return {source: destination for *sources, destination in copies for source in sources}


def _pins(lock_file):
    """{package: version} of a uv-compiled lock file."""
    with open(os.path.join(REPO, lock_file)) as f:
        return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$", f.read(), re.M))


def test_copies_every_package_folder_and_setup_inputs_and_installs_them():
    copies = [args.split() for op, args in instructions() if op == "COPY"]
    copied = _copied()
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


def test_the_cpu_lock_is_the_default_and_the_gpu_build_argument_installs_the_gpu_lock():
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert "-r requirements.lock" in runs
    assert _copied()["requirements.lock"] == "./requirements.lock"
    gpu = _copied({"LOCK": "requirements-gpu.lock"})
    assert gpu["requirements-gpu.lock"] == "./requirements.lock" and "requirements.lock" not in gpu
    assert os.path.exists(os.path.join(REPO, "requirements-gpu.lock"))


def test_the_gpu_lock_pins_the_cpu_locks_versions_plus_cuda():
    cpu, gpu = _pins("requirements.lock"), _pins("requirements-gpu.lock")
    for package in ("tensorflow", "tfx", "keras", "keras-hub", "tensorflow-text", "tensorflow-serving-api"):
        assert gpu[package] == cpu[package], package
    # `make lock-gpu` constrains the GPU lock by the CPU lock: every CPU pin is kept, only CUDA is added.
    assert {name: gpu.get(name) for name in cpu} == cpu
    added = set(gpu) - set(cpu)
    assert added and all(name.startswith("nvidia-") and name.endswith("-cu12") for name in added), added
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-nccl-cu12"} <= added
    with open(os.path.join(REPO, "requirements-gpu.lock")) as f:
        header = f.read(400)
    assert "uv pip compile --python-version 3.10 --python-platform x86_64-manylinux_2_28 requirements-gpu.in" in header
    with open(os.path.join(REPO, "requirements-gpu.in")) as f:
        lines = [line for line in f.read().splitlines() if line and not line.startswith("#")]
    assert lines == ["-r requirements.in", "-c requirements.lock", "tensorflow[and-cuda]"]
