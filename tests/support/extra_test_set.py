"""A small hand-made further test set (`test_<name>.en` / `.de`) beside a corpus' own files: what the smoke
run's data directory adds to Multi30k, so that the shared run ingests, cleans, translates and scores a second
test set."""
import os

EXTRA_TEST_SPLIT = "test_handmade"
# (source, target) as written, one pair a line. A copy, a blank pair and a pair whose target is more than 3
# times its source's words would each be dropped from train; a test set keeps them all, normalized.
EXTRA_TEST_PAIRS = (
    ("A  woman\u00a0reads a newspaper on the train.", "Eine Frau liest im Zug eine Zeitung."),
    ("Hello", "Hello"),
    ("", ""),
    ("Dogs.", "Zwei braune Hunde rennen schnell über eine grüne Wiese."),
    ("A man in a blue shirt plays the guitar.", "Ein Mann in einem blauen Hemd spielt Gitarre."),
)


def link_corpus_with_extra_test_set(corpus_dir: str, directory: str, source: str = "en", target: str = "de") -> str:
    """`directory` holding a symbolic link to every file of `corpus_dir` and the EXTRA_TEST_PAIRS as
    `<EXTRA_TEST_SPLIT>.<source>` and `.<target>`; returns `directory`."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(corpus_dir):
        os.symlink(os.path.join(os.path.abspath(corpus_dir), name), os.path.join(directory, name))
    for side, language in enumerate((source, target)):
        with open(os.path.join(directory, f"{EXTRA_TEST_SPLIT}.{language}"), "w", encoding="utf-8") as f:
            f.write("".join(pair[side] + "\n" for pair in EXTRA_TEST_PAIRS))
    return directory
