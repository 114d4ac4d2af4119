"""How the rule layer and the learned layer decide together.

Sections: a small logistic regression (the stacker) over what each layer says of a section (the
model's log-odds; the rules' score, whether a rule fired, whether the rules chose other sections
instead) gives one calibrated probability per section; a section is suggested above one
threshold. When the rules filter a message out (advertising, administrative mail) no section is
suggested. Urgency: the rules, or the model above a recall-first threshold; between a lower
threshold and that one the message is a "possible emergency"; a message mostly in words the
rules cannot read is a possible emergency from a third, lower threshold, since the rules could
not look for its red flags. When the rules found a red flag but set it aside (negated, ruled
out, past, feared, someone else's), that decision vetoes the model below a fourth, higher
threshold: only a model that is sure makes such a message urgent. Every number here is fitted by
cross-validation on the training corpus (``training.crossval``) and stored with the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox.knowledge.learned.model import sigmoid

RULE_SCORE_CAP = 3.0  # three strong cues say all the rules can say
MAX_SECTIONS = 3
PAGE_PREFERENCE = 0.05  # in probability: how near a tie the page of the form decides
# a section the message rules out ("my dry weight is correct") and the rules did not choose:
# the combined probability it needs (the stacker alone learns too little from the few such
# messages of the corpus to stop the model's words "dry weight" from suggesting it)
RULED_OUT_PROBABILITY = 0.8
FEATURES = ("model_log_odds", "rule_score", "rule_fired", "rules_chose_others", "rules_ruled_out")


def combination_features(
    log_odds: float, rule_score: float, others: bool, *, ruled_out: bool = False
) -> list[float]:
    """The stacker's inputs for one section, in the order of FEATURES; ``ruled_out``: the
    section's cues are in the message only negated or ruled out ("my dry weight is correct")."""
    fired = rule_score > 0
    return [
        log_odds,
        min(rule_score, RULE_SCORE_CAP),
        float(fired),
        float(others and not fired),
        float(ruled_out and not fired),
    ]


@dataclass(frozen=True)
class Combination:
    weights: tuple[float, ...]  # one per FEATURES
    bias: float
    section_threshold: float
    urgent_threshold: float  # the model alone makes a message urgent
    possible_threshold: float  # the model alone makes it a possible emergency
    # the same for a message the rules cannot read (None: as for any other message)
    reader_threshold: float | None = None
    # the model alone makes urgent a message whose red flag the rules set aside (None: as the
    # urgent threshold)
    aside_threshold: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Combination:
        return cls(
            # a model stored before a feature existed gives it no weight
            weights=tuple(float(data["weights"].get(name, 0.0)) for name in FEATURES),
            bias=float(data["bias"]),
            section_threshold=float(data["section_threshold"]),
            urgent_threshold=float(data["urgent_threshold"]),
            possible_threshold=float(data["possible_threshold"]),
            reader_threshold=_optional(data.get("reader_threshold")),
            aside_threshold=_optional(data.get("aside_threshold")),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "weights": {
                name: round(value, 6) for name, value in zip(FEATURES, self.weights, strict=True)
            },
            "bias": round(self.bias, 6),
            "section_threshold": self.section_threshold,
            "urgent_threshold": self.urgent_threshold,
            "possible_threshold": self.possible_threshold,
            "reader_threshold": self.reader_threshold,
            "aside_threshold": self.aside_threshold,
        }

    def section_probability(
        self, log_odds: float, rule_score: float, others: bool, *, ruled_out: bool = False
    ) -> float:
        """The combined probability that a section answers the message; ``others``: the
        rules suggested other sections for it; ``ruled_out``: the message rules it out."""
        features = combination_features(log_odds, rule_score, others, ruled_out=ruled_out)
        score = self.bias + sum(
            weight * value for weight, value in zip(self.weights, features, strict=True)
        )
        return sigmoid(score)

    def sections(
        self,
        log_odds: dict[str, float],
        rule_scores: dict[str, float],
        *,
        preferred: frozenset[str] = frozenset(),
        ruled_out: frozenset[str] = frozenset(),
    ) -> list[tuple[str, float]]:
        """The suggested sections with their combined probability, best first, at most three;
        near-ties go to the ``preferred`` ones (those of the page the form was posted under)."""
        others = bool(rule_scores)
        combined = [
            (
                section_id,
                self.section_probability(
                    score,
                    rule_scores.get(section_id, 0.0),
                    others,
                    ruled_out=section_id in ruled_out,
                ),
            )
            for section_id, score in log_odds.items()
        ]
        chosen = [
            (section_id, probability)
            for section_id, probability in combined
            if probability >= self.section_threshold
            and (
                probability >= RULED_OUT_PROBABILITY
                or section_id not in ruled_out
                or rule_scores.get(section_id, 0.0) > 0
            )
        ]
        chosen.sort(key=lambda item: -(item[1] + PAGE_PREFERENCE * (item[0] in preferred)))
        return chosen[:MAX_SECTIONS]

    def urgency(self, probability: float, *, needs_reader: bool = False) -> tuple[bool, bool]:
        """(urgent, possible) from the model alone; ``needs_reader``: the rules could not read
        the message, so the lower reader threshold applies."""
        if probability >= self.urgent_threshold:
            return True, False
        return False, probability >= self.possible_from(needs_reader=needs_reader)

    def vetoed(self, probability: float) -> bool:
        """Whether the rules' setting aside of a red flag outweighs this model probability."""
        threshold = self.urgent_threshold if self.aside_threshold is None else self.aside_threshold
        return probability < max(threshold, self.urgent_threshold)

    def possible_from(self, *, needs_reader: bool) -> float:
        """The model's probability from which a message is a possible emergency."""
        if needs_reader and self.reader_threshold is not None:
            return min(self.reader_threshold, self.possible_threshold)
        return self.possible_threshold


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
