"""Beam search against exhaustive search on a toy bigram model, where a wide beam must find the optimum."""
import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from random_translator import random_model

from tfx_nmt.models import decoding
from tfx_nmt.models.beam_search import beam_search, length_penalty, top_k_by_groups

PAD, BOS, EOS = 0, 2, 3
VOCABULARY = 6
TOKENS = [t for t in range(VOCABULARY) if t != PAD]


def bigram_table(seed):
    """log P(next | previous) `[V, V]`, PAD never generated."""
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(VOCABULARY, VOCABULARY))
    logits[:, PAD] = -np.inf
    return logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))


def exhaustive_best(table, max_length, alpha):
    """(tokens after BOS, log-probability) maximizing log P / lp over all outputs of <= max_length - 1
    tokens that end with EOS or at the limit."""
    best = None
    for n in range(1, max_length):
        for tokens in itertools.product(TOKENS, repeat=n):
            if EOS in tokens[:-1] or (n < max_length - 1 and tokens[-1] != EOS):
                continue
            log_prob = sum(table[a, b] for a, b in zip((BOS,) + tokens, tokens))
            score = log_prob / ((5 + n) / 6) ** alpha
            if best is None or score > best[0]:
                best = (score, list(tokens), log_prob)
    return best[1], best[2]


def run_beam_search_lists(table, max_lengths, beam_size, alpha):
    """All K finished hypotheses of each row: ids `[B, K, T]`, log-probabilities and lengths `[B, K]`."""
    table = tf.constant(table, tf.float32)

    def step(token_ids, cache, index, context):
        return tf.gather(table, token_ids[:, index - 1]), cache

    ids, log_prob, num_tokens = beam_search(step, (), tf.constant(max_lengths, tf.int32), beam_size, alpha,
                                            BOS, EOS, PAD)
    return ids.numpy(), log_prob.numpy(), num_tokens.numpy()


def run_beam_search(table, max_lengths, beam_size, alpha):
    """The best hypothesis of each row."""
    ids, log_prob, num_tokens = run_beam_search_lists(table, max_lengths, beam_size, alpha)
    return ids[:, 0], log_prob[:, 0], num_tokens[:, 0]


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
@pytest.mark.parametrize("seed", range(4))
def test_wide_beam_finds_the_exhaustive_optimum_for_each_row_limit(seed, alpha):
    table = bigram_table(seed)
    max_lengths = [2, 4, 5]
    # 5 ** 3 hypotheses never leave the beam, so beam search is exhaustive here.
    ids, log_prob, num_tokens = run_beam_search(table, max_lengths, 125, alpha)
    assert ids.shape == (3, 5)
    for row, max_length in enumerate(max_lengths):
        tokens, expected_log_prob = exhaustive_best(table, max_length, alpha)
        assert ids[row, 0] == BOS
        assert list(ids[row, 1:1 + len(tokens)]) == tokens
        assert np.all(ids[row, 1 + len(tokens):] == PAD)
        assert num_tokens[row] == len(tokens)
        assert log_prob[row] == pytest.approx(expected_log_prob, abs=1e-5)


def test_length_penalty_changes_the_winner():
    # From BOS: EOS at once (log 0.5) or token 4 (log 0.5), then EOS with probability 0.9. Log-probability
    # prefers the 1-token output (-0.69 vs -0.80); alpha 1 prefers the 2-token one (-0.69/1 vs -0.80/1.17).
    table = np.full((VOCABULARY, VOCABULARY), -30.0)
    table[BOS, EOS] = table[BOS, 4] = math.log(0.5)
    table[4, EOS] = math.log(0.9)
    table[4, 5] = math.log(0.1)
    table[:, PAD] = -np.inf
    ids, _, num_tokens = run_beam_search(table, [6], 2, 0.0)
    assert list(ids[0]) == [BOS, EOS, PAD, PAD, PAD, PAD] and num_tokens[0] == 1
    ids, log_prob, num_tokens = run_beam_search(table, [6], 2, 1.0)
    assert list(ids[0]) == [BOS, 4, EOS, PAD, PAD, PAD] and num_tokens[0] == 2
    assert log_prob[0] == pytest.approx(math.log(0.5) + math.log(0.9), abs=1e-6)


def test_beam_of_one_is_greedy():
    table = bigram_table(7)
    ids, _, _ = run_beam_search(table, [8], 1, 0.6)
    expected, previous = [BOS], BOS
    while len(expected) < 8 and previous != EOS:
        previous = int(np.argmax(table[previous]))
        expected.append(previous)
    assert list(ids[0][:len(expected)]) == expected


def test_length_penalty_values():
    # ((5 + 7) / 6) ** 0.6 = 2 ** 0.6.
    assert length_penalty(tf.constant(7), 0.6).numpy() == pytest.approx(2 ** 0.6)
    assert length_penalty(tf.constant(3), 0.0).numpy() == 1.0


def test_all_finished_hypotheses_are_returned_best_first():
    table = bigram_table(3)
    ids, log_prob, num_tokens = run_beam_search_lists(table, [7, 3], 4, 0.6)
    assert ids.shape == (2, 4, 7) and log_prob.shape == num_tokens.shape == (2, 4)
    for row in range(2):
        finished = num_tokens[row] > 0
        assert finished[0]
        scores = log_prob[row][finished] / ((5 + num_tokens[row][finished]) / 6) ** 0.6
        assert np.all(np.diff(scores) <= 1e-6), scores
        for k in range(4):
            tokens = ids[row, k, 1:1 + num_tokens[row, k]]
            expected = sum(table[a, b] for a, b in zip([BOS] + list(tokens), tokens))
            assert log_prob[row, k] == pytest.approx(expected, abs=1e-5)
            assert np.all(ids[row, k, 1 + num_tokens[row, k]:] == PAD)
        # Distinct hypotheses.
        assert len({tuple(h) for h in ids[row][finished]}) == int(finished.sum())


def reference_beam_search(log_probs_of, max_length, beam_size, alpha):
    """The same search written plainly, one row: (tokens after BOS, log-probability) of the best output.

    `log_probs_of(prefix)` gives the next token's log-probabilities `[V]`; candidates are ranked by
    log-probability, ties by (hypothesis, token) as the tensor search's top-k does."""
    alive, finished = [([BOS], 0.0)], []
    penalty = lambda n: ((5 + n) / 6) ** alpha  # noqa: E731
    for index in range(1, max_length):
        candidates = [(log_prob + float(lp), prefix + [token]) for prefix, log_prob in alive
                      for token, lp in enumerate(log_probs_of(prefix))]
        top = sorted(candidates, key=lambda c: -c[0])[:2 * beam_size]
        at_limit = index >= max_length - 1
        ends = [at_limit or prefix[-1] == EOS for _, prefix in top]
        alive = [(prefix, log_prob) for (log_prob, prefix), end in zip(top, ends) if not end][:beam_size]
        finished += [(log_prob / penalty(index), prefix, log_prob) for (log_prob, prefix), end in zip(top, ends) if end]
        finished = sorted(finished, key=lambda f: -f[0])[:beam_size]
        if at_limit or (finished and finished[0][0] >= alive[0][1] / penalty(max_length - 1)):
            break
    return finished[0][1][1:], finished[0][2]


@pytest.mark.parametrize("seed", range(3))
def test_beam_decode_of_random_models_equals_the_plain_search(seed):
    model = random_model(seed, vocabulary_size=30)
    rng = np.random.default_rng(seed)
    source = rng.integers(4, 30, size=(3, 6))
    source[:, 0], source[:, -1] = BOS, EOS
    source[2, 3:] = PAD
    source[2, 2] = EOS
    max_lengths = [9, 4, 7]
    ids, log_prob, num_tokens = (output[:, 0] for output in decoding.beam_decode(
        model, tf.constant(source, tf.int32), tf.constant(max_lengths), 3, 0.6))
    for row in range(3):
        encoder_output, padding_mask = model.encode(tf.constant(source[row:row + 1], tf.int32))

        def log_probs_of(prefix):
            logits = model.decode(tf.constant([prefix], tf.int32), encoder_output, padding_mask)[0, -1]
            logits = tf.tensor_scatter_nd_update(logits, [[PAD]], [-1e9])
            return tf.nn.log_softmax(logits).numpy()

        tokens, expected_log_prob = reference_beam_search(log_probs_of, max_lengths[row], 3, 0.6)
        assert list(ids.numpy()[row, 1:1 + num_tokens.numpy()[row]]) == tokens, row
        assert log_prob.numpy()[row] == pytest.approx(expected_log_prob, abs=1e-4)


@pytest.mark.parametrize("size,k", [(4000, 8), (100, 8), (33, 33), (5, 2), (64, 40)])
def test_top_k_by_groups_is_tensorflows_top_k_ties_included(size, k):
    rng = np.random.default_rng(size)
    # Few distinct values, so that many ties cross group boundaries; -inf as PAD's logit can be.
    values = rng.integers(0, 6, size=(7, size)).astype(np.float32)
    values[0] = 1.0
    values[1, :size // 2] = -np.inf
    expected_values, expected_indices = tf.math.top_k(values, k)
    actual_values, actual_indices = top_k_by_groups(tf.constant(values), k)
    np.testing.assert_array_equal(actual_values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(actual_indices.numpy(), expected_indices.numpy())


def sequence_log_prob(table, ids):
    """The bigram log-probability of one hypothesis' tokens after BOS up to its first EOS or PAD."""
    tokens = [int(t) for t in ids[1:]]
    tokens = tokens[:tokens.index(EOS) + 1] if EOS in tokens else [t for t in tokens if t != PAD]
    return sum(table[a, b] for a, b in zip([BOS] + tokens, tokens)), len(tokens)


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_n_best_hypotheses_are_distinct_and_sorted_best_first(alpha):
    table = bigram_table(3)
    beam_size, max_lengths = 3, [6, 4]
    ids, log_prob, num_tokens = run_beam_search_lists(table, max_lengths, beam_size, alpha)
    assert ids.shape == (2, beam_size, 6) and log_prob.shape == num_tokens.shape == (2, beam_size)
    for row in range(2):
        # Every slot is filled here (3 * 2 candidates from 5 tokens), each a hypothesis of its own.
        assert len({tuple(hypothesis) for hypothesis in ids[row]}) == beam_size
        scores = []
        for k in range(beam_size):
            expected_log_prob, length = sequence_log_prob(table, ids[row, k])
            assert ids[row, k, 0] == BOS and num_tokens[row, k] == length
            assert log_prob[row, k] == pytest.approx(expected_log_prob, abs=1e-5)
            scores.append(log_prob[row, k] / ((5 + length) / 6) ** alpha)
        assert scores == sorted(scores, reverse=True)
        best, best_log_prob = exhaustive_best(table, max_lengths[row], alpha)
        assert list(ids[row, 0, 1:1 + len(best)]) == best


def test_stopped_rows_leave_the_search_and_each_row_keeps_its_own_context():
    """Each source has its own bigram table, passed as its rows of the context: the steps see only the rows
    of the sources still searched, and each source's hypotheses are those it gets alone."""
    tables = [bigram_table(seed) for seed in (5, 6, 7)]
    max_lengths, beam_size = [3, 8, 5], 2

    def search(sources):
        rows_seen = []

        def step(token_ids, cache, index, context):
            rows_seen.append(int(token_ids.shape[0]))
            return tf.gather(context, token_ids[:, index - 1], axis=1, batch_dims=1), cache

        context = tf.constant(np.repeat(np.stack([tables[s] for s in sources]), beam_size, axis=0), tf.float32)
        outputs = beam_search(step, (), tf.constant([max_lengths[s] for s in sources], tf.int32), beam_size, 0.6,
                              BOS, EOS, PAD, context)
        return [o.numpy() for o in outputs], rows_seen

    (ids, log_prob, num_tokens), rows_seen = search([0, 1, 2])
    # Source 2 stops after step 1 (its EOS hypothesis beats what its alive ones can reach), source 0 at its
    # limit after step 2, source 1 after step 6, by the same bound.
    assert rows_seen == [6, 4, 2, 2, 2, 2]
    assert num_tokens.tolist() == [[2, 2], [1, 0], [1, 0]]
    for source in range(3):
        (alone_ids, alone_log_prob, alone_num_tokens), _ = search([source])
        np.testing.assert_array_equal(ids[source, :, :max_lengths[source]], alone_ids[0])
        assert np.all(ids[source, :, max_lengths[source]:] == PAD)
        np.testing.assert_array_equal(log_prob[source], alone_log_prob[0])
        np.testing.assert_array_equal(num_tokens[source], alone_num_tokens[0])
