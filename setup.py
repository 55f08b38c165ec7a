"""Package metadata for tfx-nmt: a TFX pipeline that trains, evaluates and ships a Transformer translator.

Exact versions of every dependency live in requirements.lock (generated from requirements.in); the ranges
here are what the code is written against.

The top-level folders install as subpackages of one namespace (README.md, "Layout"): `pipeline/` is
`tfx_nmt.pipeline`, and so on, so that nothing generic (`pipeline`, `models`, `kubeflow`) lands in
site-packages and Kubeflow's own `kubeflow.*` SDK namespace is never shadowed.
"""
from setuptools import find_packages, setup

# Import package -> folder of the repository that holds it.
PACKAGE_FOLDERS = {
    "tfx_nmt": "tfx_nmt",
    "tfx_nmt.pipeline": "pipeline",
    "tfx_nmt.components": "components",
    "tfx_nmt.models": "models",
    "tfx_nmt.kubeflow": "kubeflow",
}


def _packages():
    """Every package of PACKAGE_FOLDERS with the subpackages found in its folder."""
    packages = []
    for package, folder in PACKAGE_FOLDERS.items():
        packages.append(package)
        packages.extend(f"{package}.{sub}" for sub in find_packages(where=folder))
    return packages


setup(
    name="tfx-nmt",
    version="0.1.0",
    description=(
        "An end-to-end TFX pipeline that trains, evaluates and ships a Transformer "
        "neural machine translation model served by TensorFlow Serving."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.11",
    package_dir=PACKAGE_FOLDERS,
    packages=_packages(),
    install_requires=[
        "tfx[kfp]==1.16.0",
        "apache-beam[gcp]==2.61.0",
        "tensorflow==2.16.2",
        "tensorboard>=2.16,<2.17",
        "tensorflow-text==2.16.1",
        "keras>=3.12,<3.13",
        "keras-hub==0.25.1",
        "sentencepiece>=0.2",
        "sacrebleu>=2.6,<2.7",
        "sacremoses>=0.1",
        "py3langid==0.2.2",
        "tensorflow-serving-api==2.16.1",
        "kfp==2.5.0",
        "croniter>=6",
        "matplotlib>=3.8",
        "tqdm>=4.66",
        "ctranslate2>=4.5,<5",
        "pyyaml>=6",
    ],
    extras_require={"test": ["pytest>=8", "pytest-timeout", "hypothesis>=6"]},
    entry_points={"console_scripts": ["tfx-nmt=tfx_nmt.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
