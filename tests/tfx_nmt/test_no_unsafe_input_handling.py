"""No input is ever unpickled or evaluated as code: corpus files, configs and artifacts are parsed as text,
JSON or protocol buffers only."""
import os
import re

from processes import REPO, package_folders

UNSAFE = re.compile(r"\bpickle\b|\bdill\b|\bmarshal\b|\bshelve\b|(?<![\w.])eval\(|(?<![\w.])exec\(|"
                    r"yaml\.(unsafe_)?load\(|allow_pickle|__import__\(")


def test_package_never_unpickles_or_evaluates():
    found = []
    folders = package_folders()
    assert {"tfx_nmt", "pipeline", "components", "models", "kubeflow"} <= set(folders)
    for root, _, files in (entry for folder in folders for entry in os.walk(os.path.join(REPO, folder))):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name)) as f:
                    for number, line in enumerate(f, start=1):
                        if UNSAFE.search(line):
                            found.append(f"{os.path.relpath(os.path.join(root, name), REPO)}:{number}: {line.strip()}")
    assert found == []


def test_the_scan_finds_what_it_looks_for():
    assert all(UNSAFE.search(line) for line in (
        "import pickle", "x = eval(text)", "exec(code)", "yaml.load(f)", "np.load(p, allow_pickle=True)"))
    assert not any(UNSAFE.search(line) for line in ("model.evaluate(x)", "evaluation = 1", "self.eval(x)"))
