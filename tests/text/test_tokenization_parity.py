"""The tokenizer seam: the Python side (the Beam tokenizer) and the in-graph twin (the serving graph) give
the same ids."""
import os

import apache_beam as beam
import numpy as np
import tensorflow as tf

from tf_examples import make_text_example
from tfx_nmt import contract
from tfx_nmt.components.examples_io import (bytes_feature, int64_feature, iterate_examples, line_number, pair_examples,
                                            split_uri)
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.tokenization_pipeline import tokenization_counts, tokenize_examples
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.text import subword
from tfx_nmt.text.normalization import normalize
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

SENTENCES = [
    "Ein Café in São Paulo, über 3 Straßen: naïve Façade!",
    "Two dogs (brown & white) run 100 m... \"quickly\"?",
    "L'homme à la chemise rouge — 42°C.",
    "hello 😀 world 👩\u200d👩\u200d👧",
    "Zwei   junge\tMänner\u00a0im Freien.",
    "ÀÉÎÕÜ àéîõü ßçñ 1234567890",
    "",
]


def test_python_and_in_graph_sides_give_identical_ids(spm_model):
    tokenizer = SentencePieceTokenizer(spm_model)
    cleaned = [normalize(s) for s in SENTENCES]
    token_ids, lengths = tokenizer.tokenize_tensor(tf.constant(cleaned), max_length=1000)
    in_graph = [list(ids[:length]) for ids, length in zip(token_ids.numpy(), lengths.numpy())]
    assert in_graph == tokenizer.tokenize(cleaned)
    assert np.all(token_ids.numpy()[-1, 2:] == subword.PAD_ID)
    # Truncation keeps the first max_length - 2 pieces between BOS and EOS.
    short_ids, short_lengths = tokenizer.tokenize_tensor(tf.constant(cleaned[:1]), max_length=5)
    assert list(short_ids.numpy()[0]) == tokenizer.tokenize(cleaned[:1])[0][:4] + [subword.EOS_ID]
    assert short_lengths.numpy().tolist() == [5]


def test_tokenizer_of_an_artifact_reads_its_model_file(tmp_path, spm_model):
    (tmp_path / contract.TOKENIZER_MODEL_FILE).write_bytes(spm_model)
    tokenizer = SentencePieceTokenizer.from_artifact(str(tmp_path))
    assert tokenizer.model_proto == spm_model
    assert tokenizer.vocabulary_size == subword.SubwordEncoder(spm_model).vocabulary_size


def test_beam_and_serving_graph_give_identical_ids(tmp_path, spm_model):
    raw, tokenized = str(tmp_path / "raw"), str(tmp_path / "tokenized")
    os.makedirs(split_uri(raw, "test"))
    cleaned = [normalize(s) for s in SENTENCES]
    with tf.io.TFRecordWriter(os.path.join(split_uri(raw, "test"), "data.gz"), "GZIP") as writer:
        for text in cleaned:
            writer.write(make_text_example({"source": text, "target": text}))
    counts_prefix = str(tmp_path / "counts")
    with beam.Pipeline() as p:
        tokenize_examples(p, raw, tokenized, ["test"], spm_model, counts_prefix)
    beam_ids = {}
    for example in iterate_examples(tokenized, "test"):
        beam_ids[bytes_feature(example, "source").decode()] = int64_feature(example, "source_ids")
    assert set(beam_ids) == set(cleaned)
    total_tokens = sum(len(ids) for ids in beam_ids.values())  # Source and target are the same text.
    assert tokenization_counts(read_rows(counts_prefix)) == {
        "test": {"pairs": len(SENTENCES), "source_tokens": total_tokens, "target_tokens": total_tokens}}

    vocabulary_size = subword.SubwordEncoder(spm_model).vocabulary_size
    model = TransformerTranslator(vocabulary_size=vocabulary_size, d_model=16, num_encoder_layers=1,
                                  num_decoder_layers=1, num_heads=2, ff_dim=16)
    serving = TranslatorServingModule(model, SentencePieceTokenizer(spm_model))
    # Raw, unnormalized text goes into the graph: it normalizes like the cleaner did.
    outputs = serving.tokenize(tf.constant(SENTENCES))
    for raw_text, text, ids, length in zip(SENTENCES, cleaned, outputs["token_ids"].numpy(),
                                           outputs["lengths"].numpy()):
        assert list(ids[:length]) == beam_ids[text], raw_text
        assert np.all(ids[length:] == 0)
    assert beam_ids[""] == [subword.BOS_ID, subword.EOS_ID]
    # Byte fallback: the emoji never becomes <unk>.
    assert subword.UNK_ID not in beam_ids[cleaned[3]]


def test_detokenize_gives_back_normalized_text(spm_model):
    encoder = subword.SubwordEncoder(spm_model)
    for text in SENTENCES:
        assert encoder.decode(encoder.encode(normalize(text))) == normalize(text)


def test_tokenizer_keeps_other_features_and_reads_a_missing_side_as_empty(tmp_path, spm_model):
    raw, tokenized = str(tmp_path / "raw"), str(tmp_path / "tokenized")
    os.makedirs(split_uri(raw, "test"))
    with tf.io.TFRecordWriter(os.path.join(split_uri(raw, "test"), "data.gz"), "GZIP") as writer:
        writer.write(pair_examples([(7, "a dog runs .", "ein hund rennt .")])[0])
        writer.write(make_text_example({"source": "a cat ."}))  # No target feature at all.
    counts_prefix = str(tmp_path / "counts")
    with beam.Pipeline() as p:
        tokenize_examples(p, raw, tokenized, ["test"], spm_model, counts_prefix)
    encoder = subword.SubwordEncoder(spm_model)
    examples = {bytes_feature(e, "source"): e for e in iterate_examples(tokenized, "test")}
    pair, lone = examples[b"a dog runs ."], examples[b"a cat ."]
    assert line_number(pair) == 7 and bytes_feature(pair, "target") == b"ein hund rennt ."
    assert int64_feature(pair, "source_ids") == encoder.encode("a dog runs .")
    assert int64_feature(pair, "target_ids") == encoder.encode("ein hund rennt .")
    assert int64_feature(lone, "target_ids") == [subword.BOS_ID, subword.EOS_ID]
    assert tokenization_counts(read_rows(counts_prefix))["test"]["pairs"] == 2


def test_tokenize_gives_the_ids_of_encode(spm_model):
    encoder = subword.SubwordEncoder(spm_model)
    texts = [normalize(s) for s in SENTENCES]
    expected = [encoder.encode(text) for text in texts]
    assert expected[-1] == [subword.BOS_ID, subword.EOS_ID]
    assert SentencePieceTokenizer(spm_model).tokenize(texts) == expected

