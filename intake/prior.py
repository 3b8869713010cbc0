"""The shipped spam prior: a compact model trained on public corpora, rebuilt by a command.

`sedno intake build-prior --corpora ../shared/data` trains on the SpamAssassin public corpus
(`spamassassin-dev/{ham,spam}`) and Enron business mail (`enron-ham/ham`, legitimate
commercial and counterparty mail the SpamAssassin ham lacks) and writes
`intake/data/spam_prior.npz`, the weights a new installation starts from. The build is
deterministic (fixed seed, sorted files). SpamAssassin rule hits are not part of the prior:
spamd is optional, so their weights are learned from the mailbox's own decisions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from intake.spam import PRIOR_PATH, SpamModel
from intake.spam_eval import load_folder

PRIOR_EPOCHS = 5


def build_prior(corpora: Path, out: Path = PRIOR_PATH, log: TextIO = sys.stdout) -> SpamModel:
    """Train the prior from `corpora` and write it to `out`."""
    ham_folders = [corpora / "spamassassin-dev" / "ham", corpora / "enron-ham" / "ham"]
    spam_folders = [corpora / "spamassassin-dev" / "spam"]
    missing = [str(f) for f in (*ham_folders, *spam_folders) if not f.is_dir()]
    if missing:
        raise FileNotFoundError(f"corpus folders not found: {', '.join(missing)}")
    ham = [m.mail for folder in ham_folders for m in load_folder(folder)[0]]
    spam = [m.mail for folder in spam_folders for m in load_folder(folder)[0]]
    model = SpamModel()
    model.learn_many(ham + spam, [False] * len(ham) + [True] * len(spam), epochs=PRIOR_EPOCHS)
    data = model.to_bytes(compact=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(
        f"prior: {len(ham)} ham, {len(spam)} spam -> {out} ({len(data) / 1024:.0f} KiB)", file=log
    )
    return model
