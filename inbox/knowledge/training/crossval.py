"""Cross-validation: out-of-fold model scores, the combination fitted on them, and the figures.

The thresholds of the combination are chosen on out-of-fold scores, never on scores of messages
the model was trained on; ``cross_validate`` goes one level further and fits the combination
inside each outer fold, so the figures it reports were not tuned on the messages they score.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from inbox.knowledge.combination import Combination, combination_features
from inbox.knowledge.evaluation import LabelledMessage, Outcome, score_outcomes
from inbox.knowledge.learned.features import message_text
from inbox.knowledge.learned.model import URGENT, LearnedModel, sigmoid
from inbox.knowledge.loader import Knowledge
from inbox.knowledge.service import Triage, combine, rule_triage
from inbox.knowledge.training.fit import SEED, fit_model

FOLDS = 5
# Urgency is recall-first: the lowest thresholds whose false alarms on out-of-fold scores stay
# within these shares of the calm messages (rules included).
POSSIBLE_FALSE_ALARMS = 0.03
URGENT_FALSE_ALARMS = 0.005
# Messages the rules cannot read: the share of the calm messages a lower threshold may add.
READER_FALSE_ALARMS = 0.025
# Messages whose red flag the rules set aside (negated, past, feared): the share of those that
# are calm the model may still call urgent on its own.
ASIDE_FALSE_ALARMS = 0.01
F1_TOLERANCE = 0.005
GRID = tuple(round(0.01 * step, 2) for step in range(2, 96))


@dataclass(frozen=True)
class Scored:
    """One message with what the rules said of it and the model's out-of-fold log-odds."""

    message: LabelledMessage
    rules: Triage
    log_odds: dict[str, float]
    aside: bool = False  # the rules set a red flag of the message aside


def rules_of(knowledge: Knowledge, messages: Sequence[LabelledMessage]) -> list[Triage]:
    """The rule layer's triage of every message (the rules do not learn)."""
    return [
        rule_triage(knowledge, subject=item.subject, text=item.text, page=item.page)
        for item in messages
    ]


def set_aside_of(rules: Sequence[Triage]) -> list[bool]:
    """Per message, whether the rules found a red flag and set it aside."""
    return [bool(item.set_aside) for item in rules]


def folds_of(messages: Sequence[LabelledMessage], *, folds: int = FOLDS, seed: int = SEED):
    """Stratified folds: urgency and the first section keep their share in every fold."""
    keys = [f"{item.urgent}:{min(item.sections, default='-')}" for item in messages]
    counts = Counter(keys)
    keys = [key if counts[key] >= folds else key.split(":")[0] for key in keys]
    counts = Counter(keys)
    common = counts.most_common(1)[0][0] if counts else ""
    keys = [key if counts[key] >= folds else common for key in keys]  # too rare to stratify
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(keys)), keys))


def out_of_fold(
    messages: Sequence[LabelledMessage],
    rules: Sequence[Triage],
    *,
    sections: Sequence[str],
    aside: Sequence[bool] | None = None,
    folds: int = FOLDS,
    seed: int = SEED,
) -> list[Scored]:
    """Each message scored by a model trained on the other folds."""
    scored: list[Scored | None] = [None] * len(messages)
    for train, test in folds_of(messages, folds=folds, seed=seed):
        model = fit_model([messages[i] for i in train], sections=sections, seed=seed)
        for i in test:
            text = message_text(messages[i].subject, messages[i].text)
            set_aside = bool(aside[i]) if aside is not None else False
            scored[i] = Scored(messages[i], rules[i], model.decision(text), set_aside)
    return [item for item in scored if item is not None]


def fit_combination(scored: Sequence[Scored], *, sections: Sequence[str]) -> Combination:
    """The stacker's weights and the three thresholds, from out-of-fold scores."""
    rows, targets = [], []
    for item in scored:
        rule_scores = {match.section_id: match.score for match in item.rules.sections}
        for section_id in sections:
            features = combination_features(
                item.log_odds[section_id],
                rule_scores.get(section_id, 0.0),
                bool(rule_scores),
                ruled_out=section_id in item.rules.ruled_out,
            )
            rows.append(features)
            targets.append(section_id in item.message.sections)
    stacker = LogisticRegression(C=1.0, solver="liblinear", random_state=SEED)
    stacker.fit(np.array(rows), np.array(targets, dtype=int))
    weights = tuple(float(value) for value in stacker.coef_[0])
    bias = float(stacker.intercept_[0])
    draft = Combination(weights, bias, 0.5, 1.0, 1.0)
    # the F1 curve is flat near its top: take the middle of the thresholds within a hair of the
    # best, not the best itself, so that the choice does not hang on a handful of messages
    scores = {threshold: _micro_f1(scored, draft, threshold) for threshold in GRID}
    best = max(scores.values())
    near = [threshold for threshold, score in scores.items() if score >= best - F1_TOLERANCE]
    section_threshold = near[len(near) // 2]
    probability = np.array([sigmoid(item.log_odds[URGENT]) for item in scored])
    wanted = np.array([item.message.urgent for item in scored])
    by_rules = np.array([item.rules.urgent or item.rules.possible for item in scored])
    possible = _lowest(probability, wanted, by_rules, POSSIBLE_FALSE_ALARMS)
    urgent = max(possible, _lowest(probability, wanted, by_rules, URGENT_FALSE_ALARMS))
    # below the possible threshold, only messages the rules cannot read are flagged
    unread = np.array([item.rules.needs_reader for item in scored])
    ordinary = by_rules | ~unread | (probability >= possible)
    reader = min(possible, _lowest(probability, wanted, ordinary, READER_FALSE_ALARMS))
    # set aside by the rules: only the calm ones of these count, and the threshold starts at
    # the urgent one (a setting aside never lowers the bar)
    aside = np.array([item.aside for item in scored])
    others = by_rules | ~aside | (probability < urgent)
    vetoed = max(urgent, _lowest(probability, wanted, others, ASIDE_FALSE_ALARMS, within=aside))
    return Combination(weights, bias, section_threshold, urgent, possible, reader, vetoed)


def cross_validate(
    knowledge: Knowledge,
    messages: Sequence[LabelledMessage],
    *,
    folds: int = FOLDS,
    inner_folds: int = FOLDS,
    seed: int = SEED,
) -> dict[str, Any]:
    """``inbox eval`` figures over out-of-fold decisions: per outer fold, the model and the
    combination are fitted on the other folds only (the rules stay as they are)."""
    sections = [section.id for section in knowledge.sections()]
    section_ids = frozenset(sections)
    rules = rules_of(knowledge, messages)
    aside = set_aside_of(rules)
    outcomes: list[Outcome | None] = [None] * len(messages)
    for train, test in folds_of(messages, folds=folds, seed=seed):
        inner = out_of_fold(
            [messages[i] for i in train],
            [rules[i] for i in train],
            sections=sections,
            aside=[aside[i] for i in train],
            folds=inner_folds,
            seed=seed,
        )
        combination = fit_combination(inner, sections=sections)
        model = fit_model([messages[i] for i in train], sections=sections, seed=seed)
        for i in test:
            text = message_text(messages[i].subject, messages[i].text)
            triage = combine(
                rules[i],
                model,
                combination,
                text=text,
                section_ids=section_ids,
                set_aside=functools.partial(aside.__getitem__, i),
            )
            outcomes[i] = Outcome(messages[i], triage)
    report = score_outcomes(knowledge=knowledge, outcomes=[item for item in outcomes if item])
    report["folds"] = folds
    return report


def train(
    knowledge: Knowledge, messages: Sequence[LabelledMessage], *, seed: int = SEED
) -> LearnedModel:
    """The model on every message, with the combination fitted on out-of-fold scores."""
    sections = [section.id for section in knowledge.sections()]
    rules = rules_of(knowledge, messages)
    aside = set_aside_of(rules)
    scored = out_of_fold(messages, rules, sections=sections, aside=aside, seed=seed)
    combination = fit_combination(scored, sections=sections)
    model = fit_model(messages, sections=sections, seed=seed)
    model.metadata["combination"] = combination.as_dict()
    return model


def _micro_f1(scored: Sequence[Scored], combination: Combination, threshold: float) -> float:
    trial = replace(combination, section_threshold=threshold)
    tp = fp = fn = 0
    for item in scored:
        rule_scores = {match.section_id: match.score for match in item.rules.sections}
        log_odds = {key: value for key, value in item.log_odds.items() if key != URGENT}
        found = {
            section_id
            for section_id, _ in trial.sections(
                log_odds, rule_scores, ruled_out=item.rules.ruled_out
            )
        }
        tp += len(found & item.message.sections)
        fp += len(found - item.message.sections)
        fn += len(item.message.sections - found)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _lowest(
    probability: np.ndarray,
    wanted: np.ndarray,
    by_rules: np.ndarray,
    budget: float,
    *,
    within: np.ndarray | None = None,
) -> float:
    """The lowest threshold at which the model adds, to the rules' false alarms, at most this
    share of the calm messages (of those ``within``, when given)."""
    calm = ~wanted if within is None else ~wanted & within
    for threshold in GRID:
        added = (probability >= threshold) & ~by_rules
        if not calm.any() or added[calm].mean() <= budget:
            return threshold
    return GRID[-1]
