"""A small real corpus as the SubwordTokenizer component leaves it, for tests that run the Trainer's code
without a pipeline: tokenized Examples (Beam tokenizer) and the tokenizer artifact."""
import os

import apache_beam as beam
import tensorflow as tf

from corpora import read_corpus
from tf_examples import make_text_example
from tfx_nmt.components.examples_io import split_uri
from tfx_nmt.components.subword_tokenizer import write_tokenizer
from tfx_nmt.components.tokenization_pipeline import tokenize_examples
from tfx_nmt.text.normalization import normalize


def write_tokenized_corpus(work, data_dir, model_proto, train_pairs=300, eval_pairs=40):
    """The first `train_pairs` train and `eval_pairs` eval real pairs of `data_dir`, tokenized by the Beam
    tokenizer into `<work>/tokenized/Split-<split>/`; the tokenizer artifact in `<work>/tokenizer`."""
    pairs = read_corpus(data_dir, "en", "de", {"train": train_pairs, "eval": eval_pairs, "test": 1})
    raw = os.path.join(work, "raw")
    for split in ("train", "eval"):
        os.makedirs(split_uri(raw, split))
        with tf.io.TFRecordWriter(os.path.join(split_uri(raw, split), "data.gz"), "GZIP") as writer:
            for source, target in pairs[split]:
                writer.write(make_text_example({"source": normalize(source), "target": normalize(target)}))
    with beam.Pipeline() as p:
        tokenize_examples(p, raw, os.path.join(work, "tokenized"), ["train", "eval"], model_proto,
                          os.path.join(work, "counts"))
    write_tokenizer(model_proto, os.path.join(work, "tokenizer"))
