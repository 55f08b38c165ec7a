"""Where the corpus comes from: `--data-dir`, else `$TFX_NMT_DATA_DIR`, else a user cache filled by a
checksum-verified download of Multi30k task 1 (raw) from its public repository
(https://github.com/multi30k/dataset, `data/task1/raw/`).
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from typing import Optional

from tfx_nmt import files
from tfx_nmt.errors import UserError

MULTI30K_URL = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw/{name}"

# SHA-256 of each file of Multi30k task 1 raw.
MULTI30K_SHA256 = {
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
}


class DataSourceError(UserError, RuntimeError):
    """The corpus could not be found or downloaded, or a download failed its checksum."""


def default_cache_dir() -> str:
    """`$XDG_CACHE_HOME/tfx-nmt/multi30k`, defaulting to `~/.cache/tfx-nmt/multi30k`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfx-nmt", "multi30k")


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_multi30k(cache_dir: str, timeout_seconds: float = 60.0) -> str:
    """Downloads every Multi30k task 1 raw file missing from `cache_dir`, verifying SHA-256.

    Each file is written (atomically, `tfx_nmt.files`) only after its checksum matches, so an interrupted
    download never leaves a partial file under the final name.

    Returns:
        `cache_dir`.

    Raises:
        DataSourceError: on a network error or a checksum mismatch (naming the file and both digests).
    """
    os.makedirs(cache_dir, exist_ok=True)
    for name, expected in MULTI30K_SHA256.items():
        path = os.path.join(cache_dir, name)
        if os.path.exists(path) and sha256_of(path) == expected:
            continue
        url = MULTI30K_URL.format(name=name)
        print(f"Downloading {url}", flush=True)
        try:
            with urllib.request.urlopen(url, timeout=timeout_seconds) as resp:
                data = resp.read()
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise DataSourceError(f"{url}: SHA-256 {actual} does not match the expected {expected}")
            files.write_bytes(path, data)
        except OSError as e:
            raise DataSourceError(
                f"could not download {url} ({e}); pass --data-dir or set TFX_NMT_DATA_DIR to a directory "
                "holding the Multi30k files"
            ) from e
    return cache_dir


def resolve_data_dir(data_dir: Optional[str]) -> str:
    """The corpus directory: `data_dir` when given, else `$TFX_NMT_DATA_DIR`, else the download cache.

    Raises:
        DataSourceError: `data_dir` (or `$TFX_NMT_DATA_DIR`) is not a directory; as `download_multi30k`, when
            the cache has to be filled and cannot be.
    """
    for given, name in ((data_dir, "--data-dir"), (os.environ.get("TFX_NMT_DATA_DIR"), "TFX_NMT_DATA_DIR")):
        if given:
            # A URI (gs://...) is left to TFX's file-based ExampleGen, which reads it through tf.io.gfile.
            if "://" not in given and not os.path.isdir(given):
                reason = "not a directory" if os.path.exists(given) else "no such directory"
                raise DataSourceError(f"{name} {given}: {reason}")
            return given
    return download_multi30k(default_cache_dir())
