"""Language identification of sentences, in batches, with py3langid's model.

The model is py3langid's (https://github.com/adbar/py3langid, a fork of langid.py: Lui & Baldwin 2012,
"langid.py: An Off-the-shelf Language Identification Tool", ACL): a multinomial naive Bayes classifier over
byte n-gram features, trained on 97 languages, read from the file inside the installed wheel, so nothing is
downloaded at run time. py3langid was chosen over langid.py, whose model it is: langid.py is published as
a source distribution only (no wheel), loads its model in 4.0 to 7.1 s against py3langid's 0.2 to 0.4 s
(paid by every Beam worker), and classifies more slowly (6.3 against 5.4 s per 1,000 sentences on a loaded
2-core CPU; BENCHMARKS.md, language identification). Both give the same language for every sentence of
Multi30k's val split (accuracy among all 97 languages: en 99.80 %, de 100.00 %, fr 99.80 %).

Own code scores the sentences, because py3langid's `classify` takes one sentence at a time (in Python: a
dense vector of 7,480 feature counts, its product with the model's 7,480 x 97 weights, a 97 x 97
normalization): 0.8 to
5.4 s per 1,000 sentences on a 2-core CPU (by its load), 45 s or more for both sides of Multi30k's 29,000
training pairs, where the rest of their cleaning takes a few seconds. `BatchLanguageIdentifier` runs the
same byte automaton (py3langid's `tk_nextmove`/`tk_output`) over a whole batch at once and adds, per
visited state, the precomputed weights of the features that state emits: the same sums in another order,
0.015 to 0.024 s per 1,000 sentences, 60 to 220 times faster in the same runs (BENCHMARKS.md).
`tests/components/test_language_identification.py` checks it against py3langid's own `classify`.

This module imports neither TensorFlow nor TFX (Beam workers import it; see `cleaning_pipeline`).
"""
from __future__ import annotations

import functools
from typing import List, Sequence, Tuple

import numpy as np
from py3langid import langid as py3langid


@functools.lru_cache(maxsize=1)
def _model() -> Tuple[Tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """py3langid's model as (languages, next state [states * 256] int64, state weights [states, languages]
    float32, prior [languages] float32), loaded once per process: each DoFn instance of each split would
    otherwise load it again (0.2 s each); nothing writes to the arrays."""
    model = py3langid.LanguageIdentifier.from_pickled_model(py3langid.MODEL_FILE)
    next_state = np.frombuffer(model.tk_nextmove, dtype=np.uint16).astype(np.int64)
    # The log-probability contribution of entering each state: the sum of the weights of the features
    # it emits (py3langid counts a feature once per emission; so does this sum).
    states = [state for state, features in model.tk_output.items() for _ in features]
    features = [feature for _, emitted in model.tk_output.items() for feature in emitted]
    weights = np.asarray(model.nb_ptc, dtype=np.float32)
    state_weights = np.zeros((len(next_state) // 256, weights.shape[1]), dtype=np.float32)
    np.add.at(state_weights, np.asarray(states, dtype=np.int64), weights[np.asarray(features, dtype=np.int64)])
    return tuple(model.nb_classes), next_state, state_weights, np.asarray(model.nb_pc, dtype=np.float32)


def model_languages() -> Tuple[str, ...]:
    """The ISO 639-1 codes of the 97 languages of py3langid's model (`af`, ..., `de`, `en`, ...)."""
    return _model()[0]


class BatchLanguageIdentifier:
    """py3langid's classifier, over batches of sentences.

    Args:
        languages: the languages to choose from (py3langid's `set_languages`); empty: all of the model's.

    Attributes:
        languages: the codes chosen from, in the model's order.

    Raises:
        ValueError: a code of `languages` is not one of `model_languages()`.
    """

    def __init__(self, languages: Sequence[str] = ()):
        all_languages, self._next_state, state_weights, prior = _model()
        unknown = sorted(set(languages) - set(all_languages))
        if unknown:
            raise ValueError(f"language identification knows no language {', '.join(unknown)}")
        columns = [n for n, code in enumerate(all_languages) if not languages or code in languages]
        self.languages: Tuple[str, ...] = tuple(all_languages[n] for n in columns)
        self._state_weights = np.ascontiguousarray(state_weights[:, columns])
        self._prior = prior[columns]

    def classify(self, texts: Sequence[str]) -> List[Tuple[str, float]]:
        """The most probable language of each text and its probability.

        Args:
            texts: N sentences (any length; an empty one gets the model's prior).

        Returns:
            N (language code, probability) pairs, the probability normalized over the model's 97 languages
            (py3langid's `norm_probs=True`), a float in (0, 1].
        """
        if not texts:
            return []
        encoded = [text.encode("utf-8", errors="surrogatepass") for text in texts]
        # Longest first: the texts still being read at byte i are then the first `active[i]` rows.
        order = sorted(range(len(encoded)), key=lambda n: -len(encoded[n]))
        lengths = np.array([len(encoded[n]) for n in order], dtype=np.int64)
        data = np.zeros((len(order), max(int(lengths[0]), 1)), dtype=np.int64)
        for row, n in enumerate(order):
            data[row, :len(encoded[n])] = np.frombuffer(encoded[n], dtype=np.uint8)
        active = (lengths[None, :] > np.arange(data.shape[1])[:, None]).sum(axis=1)
        state = np.zeros(len(order), dtype=np.int64)
        scores = np.zeros((len(order), len(self.languages)), dtype=np.float32)
        for i, rows in enumerate(active):
            if rows == 0:
                break
            state[:rows] = self._next_state[(state[:rows] << 8) + data[:rows, i]]
            scores[:rows] += self._state_weights[state[:rows]]
        scores += self._prior
        best = scores.argmax(axis=1)
        # p(best) = 1 / sum_c exp(score_c - score_best): the softmax without overflow.
        probability = 1.0 / np.exp(scores - scores[np.arange(len(order)), best][:, None]).sum(axis=1)
        result: List[Tuple[str, float]] = [("", 0.0)] * len(order)
        for row, n in enumerate(order):
            result[n] = (self.languages[best[row]], float(probability[row]))
        return result
