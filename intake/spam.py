"""The intake spam model: an online classifier that learns from every accept and drop.

Features are hashed (no vocabulary to grow or store) in one pass per mail: word uni- and
bigrams of subject and body, character 3–5-grams of the subject and the start of the body,
structural tokens every mail has (HTML or not, attachments, shouting subjects, link hosts),
and SpamAssassin's rule hits when spamd answered. Nothing that only some sources carry (the
sender's domain, X-Mailer, Received, the recipient count) is a feature: a model that learns
those learns the corpus it was trained on, not spam. Each token is hashed with CRC-32 (one C
call per word) or, for character n-grams, arithmetically over the code points with numpy,
then spread into its block's buckets by a 64-bit mixer; a bucket's count weighs
1 + log(count), and each block is L2-normalised and weighted. A hashed `SGDClassifier` with
logistic loss learns incrementally through `partial_fit`, so every queue decision is one
cheap update, and scoring one mail is a dot product over its buckets.

A new installation starts from the shipped prior (`intake/data/spam_prior.npz`, built by
`sedno intake build-prior` from public corpora): the first mail is already judged, and the
queue's decisions then train on from it.
"""

from __future__ import annotations

import io
import logging
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from intake.parse import ParsedMail
from intake.sa_rules import source_neutral_rules

if TYPE_CHECKING:
    # Only learning needs them (≈ 3.5 s CPU to import): a process that only classifies
    # scores with numpy and never imports scikit-learn or SciPy.
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier

log = logging.getLogger(__name__)

PRIOR_PATH: Final = Path(__file__).resolve().parent / "data" / "spam_prior.npz"
_TEXT_LIMIT: Final = 10_000
_CHAR_LIMIT: Final = 2_000
_URL: Final = re.compile(r"https?://([^/\s\"'<>]+)", re.IGNORECASE)
_FORMAT_VERSION: Final = 4
"""4: as 3, with how term counts are weighed (sublinear or raw) stored in the header; 3:
compact npz of the weights, source-neutral features and SpamAssassin rule hits, raw counts
(still read); 2 pickled an SGDClassifier over 1.4 M buckets; 1 three HashingVectorizers."""
_READABLE_VERSIONS: Final = (3, 4)

# Words on the UTF-8 bytes: any non-ASCII byte counts as a letter, so Polish words stay whole
# and no token needs encoding before it is hashed.
_WORD: Final = re.compile(rb"[\w\x80-\xff](?:[\w\x80-\xff'.-]*[\w\x80-\xff])?")
_CHAR_NGRAMS: Final = (3, 5)
_WORD_BITS: Final = 18
_CHAR_BITS: Final = 16
_HEADER_BITS: Final = 12
_RULE_BITS: Final = 12
_BLOCK_BITS: Final = (_WORD_BITS, _CHAR_BITS, _HEADER_BITS, _RULE_BITS)
_BLOCK_WEIGHTS: Final = (1.0, 0.7, 0.5, 0.8)
_BLOCK_SALTS: Final = (0x5EDC0001, 0x5EDC0002, 0x5EDC0003, 0x5EDC0004)
_OFFSETS: Final = (
    0,
    2**_WORD_BITS,
    2**_WORD_BITS + 2**_CHAR_BITS,
    2**_WORD_BITS + 2**_CHAR_BITS + 2**_HEADER_BITS,
)
N_FEATURES: Final = 2**_WORD_BITS + 2**_CHAR_BITS + 2**_HEADER_BITS + 2**_RULE_BITS
_WEIGHT_FLOOR: Final = 1e-4
"""Weights smaller than this are left out of a stored model: they never change a verdict."""
_COMPACT_FLOOR: Final = 0.01

_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
# splitmix64's finaliser: spreads structured keys (CRCs, packed code points) over 64 bits.
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)
_SHIFTS: Final = (np.uint64(30), np.uint64(27), np.uint64(31))
_PRIME: Final = np.uint64(0x100000001B3)
_BIGRAM: Final = np.uint64(1 << 63)
_SHIFT32: Final = np.uint64(32)


def _header_tokens(mail: ParsedMail) -> list[str]:
    """Structural tokens every mail can carry, whatever server or archive it came through."""
    tokens: list[str] = []
    if mail.sender is None:
        tokens.append("from-missing")
    elif mail.sender.name and "@" in mail.sender.name:
        tokens.append("from-name-has-address")
    if mail.html is not None:
        tokens.append("has-html")
        if not mail.text.strip() or len(mail.html) > 4 * max(len(mail.text), 1):
            tokens.append("html-heavy")
    for attachment in mail.attachments:
        tokens.append(f"attachment:{attachment.content_type}")
    subject = mail.subject
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        tokens.append("subject-caps")
    if "!" in subject:
        tokens.append("subject-exclamation")
    if "$" in subject or "%" in subject:
        tokens.append("subject-money")
    if not subject.strip():
        tokens.append("subject-empty")
    hosts = _URL.findall(mail.text[:_TEXT_LIMIT])
    tokens.append(f"links:{min(len(hosts), 5)}")
    for host in hosts[:20]:
        host = host.lower().rpartition("@")[2].split(":")[0]
        tokens.append(f"url-host:{host}")
        if host.replace(".", "").isdigit():
            tokens.append("url-ip-host")
    return tokens


def _bucketed(keys: _U64, block: int) -> _I64:
    """Bucket indices of a block's 64-bit keys, offset into the block's range."""
    h = keys ^ np.uint64(_BLOCK_SALTS[block])
    h = (h ^ (h >> _SHIFTS[0])) * _MIX1
    h = (h ^ (h >> _SHIFTS[1])) * _MIX2
    h = h ^ (h >> _SHIFTS[2])
    return (h >> np.uint64(64 - _BLOCK_BITS[block])).astype(np.int64) + _OFFSETS[block]


def _crc_keys(tokens: Sequence[bytes]) -> _U64:
    return np.fromiter(map(zlib.crc32, tokens), dtype=np.uint64, count=len(tokens))


def _word_keys(mail: ParsedMail) -> _U64:
    """Unigrams (their CRC) and bigrams (both CRCs packed, top bit set) of subject and body."""
    text = f"{mail.subject}\n{mail.subject}\n{mail.text[:_TEXT_LIMIT]}".lower()
    words = _crc_keys(_WORD.findall(text.encode("utf-8", "replace")))
    if len(words) < 2:
        return words
    bigrams = (words[:-1] << _SHIFT32) | words[1:] | _BIGRAM
    return np.concatenate((words, bigrams))


def _char_keys(mail: ParsedMail) -> _U64:
    """Character n-grams of the whitespace-normalised subject and start of the body."""
    short = " ".join(f"{mail.subject} {mail.text[:_CHAR_LIMIT]}".lower().split())
    points = np.frombuffer(short.encode("utf-32-le", "replace"), dtype=np.uint32)
    codes = points.astype(np.uint64)
    low, high = _CHAR_NGRAMS
    size = len(codes)
    if size < low:
        return np.empty(0, dtype=np.uint64)
    parts: list[_U64] = []
    key = codes
    for n in range(2, min(high, size) + 1):
        key = key[: size - n + 1] * _PRIME + codes[n - 1 :]
        if n >= low:
            parts.append(key + np.uint64(n))
    return np.concatenate(parts)


def _header_keys(mail: ParsedMail) -> _U64:
    return _crc_keys([t.encode("utf-8", "replace") for t in _header_tokens(mail)])


def _rule_keys(rules: Sequence[str]) -> _U64:
    return _crc_keys([r.encode("ascii", "replace") for r in source_neutral_rules(rules)])


def mail_features(
    mail: ParsedMail, rules: Sequence[str] = (), *, sublinear: bool = True
) -> tuple[_I64, _F64]:
    """(sorted bucket indices, values) of one mail and its SpamAssassin rule hits: counts
    (as 1 + log(count) when `sublinear`), L2-normalised and weighted per block.

    Sublinear counts keep a word a newsletter or a long thread repeats twenty times from
    outweighing the rest of the mail: raw counts taught the model that a mail saying "our",
    "please" and "price" often is spam, which is the register of business mail, not of spam
    (docs/benchmarks.md, issue 13).
    """
    indices = np.concatenate(
        (
            _bucketed(_word_keys(mail), 0),
            _bucketed(_char_keys(mail), 1),
            _bucketed(_header_keys(mail), 2),
            _bucketed(_rule_keys(rules), 3),
        )
    )
    unique, counts = np.unique(indices, return_counts=True)
    values = counts.astype(np.float64)
    if sublinear:
        values = 1.0 + np.log(values)
    blocks = np.searchsorted(np.asarray(_OFFSETS[1:]), unique, side="right")
    norms = np.sqrt(np.bincount(blocks, weights=values * values, minlength=len(_OFFSETS)))
    scale = np.asarray(_BLOCK_WEIGHTS) / np.where(norms > 0, norms, 1.0)
    return unique, values * scale[blocks]


def features_matrix(
    mails: Sequence[ParsedMail],
    rules: Sequence[Sequence[str]] | None = None,
    *,
    sublinear: bool = True,
) -> sp.csr_matrix:
    """The feature rows of a batch, for learning."""
    import scipy.sparse as sp

    hits = rules if rules is not None else [()] * len(mails)
    rows = [mail_features(m, r, sublinear=sublinear) for m, r in zip(mails, hits, strict=True)]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r[0]) for r in rows], out=indptr[1:])
    if rows:
        indices = np.concatenate([r[0] for r in rows])
        values = np.concatenate([r[1] for r in rows])
    else:
        indices, values = np.empty(0, dtype=np.int64), np.empty(0)
    return sp.csr_matrix((values, indices, indptr), shape=(len(rows), N_FEATURES))


def _classifier() -> SGDClassifier:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(
        loss="log_loss",
        alpha=1e-5,
        penalty="l2",
        # Missing a spam costs less than losing a client's mail, but spam is the rarer
        # class in training; weighting it twice recovers recall at a high threshold.
        class_weight={0: 1.0, 1: 2.0},
        random_state=0,
    )


def _sigmoid(margin: float) -> float:
    """The logistic function, stable for large margins of either sign."""
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    z = math.exp(margin)
    return z / (1.0 + z)


class SpamModel:
    """Spam probability of a parsed mail, learned online; untrained it answers 0.5."""

    threshold: float = 0.7
    """Probability from which a mail counts as spam (see docs/benchmarks.md for how it was
    chosen and what it gives on mail from other sources and periods)."""

    def __init__(self, *, sublinear: bool = True) -> None:
        self.sublinear = sublinear
        """Whether term counts are weighed sublinearly (models stored before format 4: no)."""
        self._coef: _F64 = np.zeros(N_FEATURES)
        self._intercept = 0.0
        self._steps = 1.0
        self._classifier: SGDClassifier | None = None
        self.n_spam = 0
        self.n_ham = 0

    @property
    def trained(self) -> bool:
        """Whether it has seen at least one spam and one ham."""
        return self.n_spam > 0 and self.n_ham > 0

    def learn(self, mail: ParsedMail, is_spam: bool, rules: Sequence[str] = ()) -> None:
        """One update from one queue decision (accept = ham, drop as spam = spam)."""
        self.learn_many([mail], [is_spam], rules=[rules])

    def learn_many(
        self,
        mails: Sequence[ParsedMail],
        labels: Sequence[bool],
        epochs: int = 1,
        rules: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Learn a batch; several epochs in a shuffled order suit an initial training set."""
        if len(mails) != len(labels):
            raise ValueError("mails and labels differ in length")
        if not mails:
            return
        features = features_matrix(mails, rules, sublinear=self.sublinear)
        targets = np.asarray(labels, dtype=np.int64)
        rng = np.random.default_rng(0)
        classifier = self._learner()
        for _ in range(max(1, epochs)):
            order = rng.permutation(len(mails)) if epochs > 1 else np.arange(len(mails))
            classifier.partial_fit(features[order], targets[order], classes=[0, 1])
        self._coef = classifier.coef_[0]
        self._intercept = float(classifier.intercept_[0])
        self._steps = float(classifier.t_)
        self.n_spam += int(targets.sum())
        self.n_ham += int(len(targets) - targets.sum())

    def _learner(self) -> SGDClassifier:
        """The scikit-learn classifier that learns on from the current weights."""
        if self._classifier is None:
            self._classifier = _classifier()
            if self.trained:
                # The state partial_fit continues from (sklearn reads these on later calls).
                self._classifier.classes_ = np.asarray([0, 1])
                self._classifier.coef_ = self._coef.reshape(1, -1).copy()
                self._classifier.intercept_ = np.asarray([self._intercept])
                self._classifier.t_ = self._steps
                self._classifier.n_features_in_ = N_FEATURES
        return self._classifier

    def spam_probability(self, mail: ParsedMail, rules: Sequence[str] = ()) -> float:
        """Probability in 0..1 that the mail is spam; 0.5 until both classes were seen."""
        if not self.trained:
            return 0.5
        indices, values = mail_features(mail, rules, sublinear=self.sublinear)
        # The logistic model's probability, computed directly: predict_proba's input checks
        # cost more than the product itself.
        margin = float(self._coef[indices] @ values) + self._intercept
        return _sigmoid(margin)

    def spam_probabilities(self, mails: Sequence[ParsedMail]) -> list[float]:
        """Probabilities for a batch."""
        return [self.spam_probability(m) for m in mails]

    def to_bytes(self, *, compact: bool = False) -> bytes:
        """Serialise the weights (no pickle): an npz of the non-negligible weights.

        `compact` (the shipped prior) keeps only weights of at least `_COMPACT_FLOOR` in
        half precision: a few hundred KiB instead of a few MiB, scores within about 0.01.
        """
        if not self.trained:
            coef = np.zeros(N_FEATURES)
            intercept, steps = 0.0, 1.0
        else:
            coef, intercept, steps = self._coef, self._intercept, self._steps
        floor = _COMPACT_FLOOR if compact else _WEIGHT_FLOOR
        kept = np.flatnonzero(np.abs(coef) >= floor)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.asarray(
                [_FORMAT_VERSION, N_FEATURES, self.n_spam, self.n_ham, int(self.sublinear)]
            ),
            # Gaps between sorted indices are small numbers: they compress far better.
            index_gaps=np.diff(kept, prepend=0).astype(np.uint32),
            values=coef[kept].astype(np.float16 if compact else np.float32),
            intercept=np.asarray([intercept, steps]),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SpamModel:
        """Load a model stored with `to_bytes`.

        Format 3 (raw counts) is read as it was stored, so a mailbox's learned model keeps
        its verdicts. Raises ValueError for anything else, a model of an older format
        included (its features differ: it cannot be used, only replaced).
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                header = stored["header"]
                indices = np.cumsum(stored["index_gaps"].astype(np.int64))
                values = stored["values"].astype(np.float64)
                intercept, steps = (float(v) for v in stored["intercept"])
        except Exception as exc:  # an older format was a zlib-compressed pickle
            raise ValueError(f"not a stored SpamModel: {type(exc).__name__}: {exc}") from exc
        if len(header) < 4:
            raise ValueError(f"stored SpamModel header has {len(header)} fields")
        version, n_features, n_spam, n_ham = (int(v) for v in header[:4])
        if version not in _READABLE_VERSIONS or n_features != N_FEATURES:
            raise ValueError(
                f"stored SpamModel format {version} over {n_features} buckets, "
                f"not {_FORMAT_VERSION} over {N_FEATURES}"
            )
        if version >= 4 and len(header) < 5:
            raise ValueError("stored SpamModel of format 4 without its count weighting")
        model = cls(sublinear=version >= 4 and bool(header[4]))
        model.n_spam, model.n_ham = n_spam, n_ham
        if model.trained:
            model._coef[indices] = values
            model._intercept, model._steps = intercept, steps
        return model


def load_stored_model(data: bytes | None) -> SpamModel | None:
    """The stored model, or None when there is none or it is unusable (an older format):
    intake then runs on the shipped prior until the next queue decision trains on from it."""
    if not data:
        return None
    try:
        return SpamModel.from_bytes(data)
    except ValueError as exc:
        log.warning("stored spam model ignored: %s", exc)
        return None


@lru_cache(maxsize=1)
def _prior_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        log.warning("no spam prior at %s: %s", path, exc)
        return None


def prior_model(path: Path = PRIOR_PATH) -> SpamModel | None:
    """A fresh copy of the shipped prior (None when the file is missing or outdated)."""
    return load_stored_model(_prior_bytes(path))


def train_model(
    pairs: Iterable[tuple[ParsedMail, bool]],
    epochs: int = 5,
    rules: Sequence[Sequence[str]] | None = None,
) -> SpamModel:
    """A model trained from (mail, is_spam) pairs."""
    mails: list[ParsedMail] = []
    labels: list[bool] = []
    for mail, is_spam in pairs:
        mails.append(mail)
        labels.append(is_spam)
    model = SpamModel()
    model.learn_many(mails, labels, epochs=epochs, rules=rules)
    return model
