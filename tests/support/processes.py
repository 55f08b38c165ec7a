"""Running code in fresh processes, as a user would: the repository root and a new Python interpreter."""
import hashlib
import os
import subprocess
import sys
import textwrap

# The repository root: tests/support/ is two levels below it.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fresh_python(code: str, timeout: float = 600, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Runs `code` in a new Python process (the interpreter of this test run), in the working directory
    `cwd` (default: this process's), and returns the result."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    environment.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=environment, cwd=cwd)


def tree_hashes(directory):
    """{relative path: SHA-256} of every file under `directory`."""
    hashes = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                hashes[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


def package_folders():
    """The repository's top-level folders that are Python packages (tfx_nmt/, pipeline/, components/, ...),
    each installed under the tfx_nmt namespace (setup.py, PACKAGE_FOLDERS)."""
    return sorted(name for name in os.listdir(REPO) if os.path.isfile(os.path.join(REPO, name, "__init__.py")))
