"""A planted multilingual fact corpus: every statement's subject, relation, object, language and template
are known, so relation neurons, language neurons and edits can be checked against the truth.

``n_subjects`` subjects × ``n_relations`` relations, each (subject, relation) with one of ``n_objects``
objects (the *fact*, the same in every language). Each of ``n_languages`` synthetic languages has its own
vocabulary (disjoint from the others'), its own word order and two templates (the paraphrase has a leading
filler word):

* language 0: ``S R -> O``; language 1: ``R S -> O``; language 2: ``S particle R -> O`` (further languages
  cycle through the three orders).

A subject is two tokens from a per-language pool of 14 (so that the subject must be *composed* by attention
and the MLPs, not looked up in one embedding row); a relation is two of 4 relation words of that language.
Subject ``i`` uses the same pool positions in every language, and object ``o`` of relation ``r`` is the same
index in every language's object list, so a fact has one identity across languages. Statements are left-padded
to one length; the model reads the prompt and predicts the object at the last position.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value

POOL = 14          # subject tokens per language
REL_WORDS = 4      # relation words per language
ORDERS = ("S R", "R S", "S particle R")


@dataclass
class FactCorpus:
    """The statements and their truth. Rows of ``tokens`` are prompts (left-padded); ``answers`` the object
    token each must be followed by. ``subject``, ``relation``, ``language``, ``template`` and ``object``
    (the object's index within its relation, the same in every language) are per statement."""

    tokens: torch.Tensor        # [n, P] int64 prompts
    answers: torch.Tensor       # [n] int64 object tokens
    subject: np.ndarray         # [n]
    relation: np.ndarray        # [n]
    language: np.ndarray        # [n]
    template: np.ndarray        # [n] 0: plain, 1: paraphrase (leading filler)
    object: np.ndarray          # [n] object index in 0..n_objects-1
    facts: np.ndarray           # [n_subjects, n_relations] the planted object index of each fact
    n_objects: int
    d_vocab: int
    vocab: list                 # token id -> readable word, e.g. "L0:s3", "L1:r2", "L2:o[1]5"

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def n_subjects(self) -> int:
        return self.facts.shape[0]

    @property
    def n_relations(self) -> int:
        return self.facts.shape[1]

    @property
    def n_languages(self) -> int:
        return int(self.language.max()) + 1

    def groups(self) -> dict[str, np.ndarray]:
        """Group name -> boolean mask over statements: ``rel0..`` (relations) then ``lang0..`` (languages)."""
        out = {f"rel{r}": self.relation == r for r in range(self.n_relations)}
        out.update({f"lang{g}": self.language == g for g in range(self.n_languages)})
        return out

    def object_token(self, language, relation, obj) -> np.ndarray:
        """Token id of object ``obj`` of ``relation`` in ``language`` (arrays broadcast)."""
        lang, rel, o = np.asarray(language), np.asarray(relation), np.asarray(obj)
        return self._lang_base[lang] + self._obj_offset + rel * self.n_objects + o

    def index(self, subject: int, relation: int, language: int, template: int = 0) -> int:
        """Row of one statement."""
        hit = np.flatnonzero((self.subject == subject) & (self.relation == relation)
                             & (self.language == language) & (self.template == template))
        if not len(hit):
            raise ValueError(f"no statement for subject {subject}, relation {relation}, language {language}, "
                             f"template {template}.")
        return int(hit[0])

    def language_tokens(self, language: int) -> np.ndarray:
        """Every token id of one language's vocabulary."""
        return np.arange(self._lang_base[language], self._lang_base[language] + self._lang_size)

    _lang_base: np.ndarray = None
    _lang_size: int = 0
    _obj_offset: int = 0


def make_facts(n_subjects: int = 150, n_relations: int = 4, n_objects: int = 8, n_languages: int = 3,
               seed: int = 0) -> FactCorpus:
    """The corpus (see the module docstring): ``n_subjects * n_relations * n_languages * 2`` statements.

    The facts (which object each subject has under each relation) and the subjects' token pairs are drawn
    from ``seed``; the languages' grammar is fixed.
    """
    owner = "make_facts"
    n_subjects = check_value("n_subjects", n_subjects, (int, 1, POOL * POOL), owner)
    n_relations = check_value("n_relations", n_relations, (int, 1, len(_RELATION_PAIRS)), owner)
    n_objects = check_value("n_objects", n_objects, (int, 2, 1000), owner)
    n_languages = check_value("n_languages", n_languages, (int, 1, 64), owner)
    rng = np.random.default_rng(check_value("seed", seed, "seed", owner))
    pairs = np.array(list(itertools.product(range(POOL), repeat=2)))
    subj_pairs = pairs[rng.choice(len(pairs), n_subjects, replace=False)]            # [S, 2]
    facts = rng.integers(0, n_objects, size=(n_subjects, n_relations))
    # per-language vocabulary: [subject pool | relation words | objects | filler | particle]
    obj_offset = POOL + REL_WORDS
    lang_size = obj_offset + n_relations * n_objects + 2
    base = 1 + np.arange(n_languages) * lang_size                                       # token 0 is padding
    d_vocab = int(1 + n_languages * lang_size)
    rel_pairs = np.array(_RELATION_PAIRS[:n_relations])
    S, R, L, T = np.meshgrid(np.arange(n_subjects), np.arange(n_relations), np.arange(n_languages),
                             np.arange(2), indexing="ij")
    S, R, L, T = (a.ravel() for a in (S, R, L, T))
    b = base[L][:, None]
    subj = b + subj_pairs[S]                                   # [n, 2]
    rel = b + POOL + rel_pairs[R]                               # [n, 2]
    filler = b[:, 0] + lang_size - 2
    particle = b[:, 0] + lang_size - 1
    order = L % len(ORDERS)
    P = 6                                                       # filler + 2 + particle + 2
    body = np.where((order == 1)[:, None], np.concatenate([rel, subj], 1), np.concatenate([subj, rel], 1))
    body3 = np.concatenate([subj, particle[:, None], rel], 1)
    rows = np.zeros((len(S), P), dtype=np.int64)
    rows[:, P - 4:] = body
    third = order == 2
    rows[third, P - 5:] = body3[third]
    lead = np.where(third, P - 6, P - 5)
    par = T == 1
    rows[par, lead[par]] = filler[par]
    obj = facts[S, R]
    answers = b[:, 0] + obj_offset + R * n_objects + obj
    vocab = ["<pad>"]
    for g in range(n_languages):
        vocab += [f"L{g}:s{i}" for i in range(POOL)] + [f"L{g}:r{i}" for i in range(REL_WORDS)]
        vocab += [f"L{g}:o[{r}]{o}" for r in range(n_relations) for o in range(n_objects)]
        vocab += [f"L{g}:filler", f"L{g}:particle"]
    corpus = FactCorpus(torch.from_numpy(rows), torch.from_numpy(answers.astype(np.int64)), S, R, L, T, obj,
                        facts, n_objects, d_vocab, vocab)
    corpus._lang_base, corpus._lang_size, corpus._obj_offset = base, lang_size, obj_offset
    return corpus


_RELATION_PAIRS = [(0, 1), (2, 3), (1, 2), (3, 0), (0, 2), (1, 3)]
"""Which two of the 4 relation words name each relation (every word serves two relations)."""
