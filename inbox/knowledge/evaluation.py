"""Measuring the matcher against a labelled JSONL set (the format of eval/messages-dev.jsonl)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbox.knowledge.loader import Knowledge
from inbox.knowledge.service import Triage, triage_message

CORPUS = Path(__file__).resolve().parent / "corpus"
TRAIN_SPLIT = CORPUS / "train"  # what the learned layer is trained on
TEST_SPLIT = CORPUS / "test"  # frozen: scored, never tuned on


class LabelledDataError(Exception):
    """A labelled file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    subject: str
    text: str
    sections: frozenset[str]
    urgent: bool
    page: str | None = None


@dataclass(frozen=True)
class Outcome:
    message: LabelledMessage
    triage: Triage

    @property
    def predicted(self) -> frozenset[str]:
        return frozenset(match.section_id for match in self.triage.sections)

    @property
    def flagged(self) -> bool:
        """Urgent or a possible emergency: either way staff are told to look now."""
        return self.triage.urgent or self.triage.possible

    @property
    def correct(self) -> bool:
        return self.predicted == self.message.sections and self.flagged == self.message.urgent


@dataclass(frozen=True)
class Counts:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else float(self.false_negatives == 0)

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else float(self.false_positives == 0)

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def read_labelled(path: Path) -> list[LabelledMessage]:
    """Every labelled message of a JSONL file, one JSON object per line."""
    messages: list[LabelledMessage] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LabelledDataError(f"{path}: cannot be read: {error}") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages.append(
                LabelledMessage(
                    id=str(row["id"]),
                    subject=str(row.get("subject") or ""),
                    text=str(row["message"]),
                    sections=frozenset(str(item) for item in row.get("sections") or ()),
                    urgent=bool(row.get("urgent", False)),
                    page=row.get("page"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            message = f"{path}: line {number}: not a labelled message ({error})"
            raise LabelledDataError(message) from error
    return messages


def read_corpus(source: Path = TRAIN_SPLIT) -> list[LabelledMessage]:
    """Every labelled message of one JSONL file, or of a folder's JSONL files in name order."""
    source = Path(source)
    if not source.is_dir():
        return read_labelled(source)
    messages: list[LabelledMessage] = []
    for path in sorted(source.glob("*.jsonl")):
        messages += read_labelled(path)
    return messages


def evaluate(*, knowledge: Knowledge, messages: Sequence[LabelledMessage]) -> dict[str, Any]:
    """Triage every message and compare with its labels; the figures as one JSON-ready dict."""
    outcomes = [
        Outcome(
            item,
            triage_message(knowledge, subject=item.subject, text=item.text, page=item.page),
        )
        for item in messages
    ]
    return score_outcomes(knowledge=knowledge, outcomes=outcomes)


def score_outcomes(*, knowledge: Knowledge, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The figures of triage decisions against their labels, as one JSON-ready dict."""
    messages = [outcome.message for outcome in outcomes]
    section_ids = [section.id for section in knowledge.sections()]
    for message in messages:
        section_ids += sorted(message.sections - set(section_ids))
    per_section = {section_id: _counts(outcomes, section_id) for section_id in section_ids}
    micro = Counts(
        sum(item.true_positives for item in per_section.values()),
        sum(item.false_positives for item in per_section.values()),
        sum(item.false_negatives for item in per_section.values()),
    )
    urgent = [outcome for outcome in outcomes if outcome.message.urgent]
    calm = [outcome for outcome in outcomes if not outcome.message.urgent]
    return {
        "messages": len(outcomes),
        "micro_precision": round(micro.precision, 4),
        "micro_recall": round(micro.recall, 4),
        "micro_f1": round(micro.f1, 4),
        "exact_match": _share(outcomes, lambda item: item.predicted == item.message.sections),
        "urgent_recall": _share(urgent, lambda item: item.flagged, empty=1.0),
        "urgent_fpr": _share(calm, lambda item: item.flagged, empty=0.0),
        "per_section": {
            section_id: {
                "precision": round(counts.precision, 4),
                "recall": round(counts.recall, 4),
                "f1": round(counts.f1, 4),
                "support": counts.true_positives + counts.false_negatives,
                "true_positives": counts.true_positives,
                "false_positives": counts.false_positives,
                "false_negatives": counts.false_negatives,
            }
            for section_id, counts in per_section.items()
        },
        "errors": [_error(outcome) for outcome in outcomes if not outcome.correct],
        "predictions": [
            {
                "id": outcome.message.id,
                "sections": [match.section_id for match in outcome.triage.sections],
                "urgent": outcome.flagged,
            }
            for outcome in outcomes
        ],
    }


def format_report(report: dict[str, Any]) -> str:
    """The figures of ``evaluate`` as a plain-text report for a terminal."""
    lines = [f"{'section':<36} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>4}"]
    for section_id, row in report["per_section"].items():
        lines.append(
            f"{section_id:<36} {row['precision']:>6.2f} {row['recall']:>6.2f}"
            f" {row['f1']:>6.2f} {row['support']:>4}"
        )
    lines += [
        "",
        f"messages          {report['messages']}",
        f"micro precision   {report['micro_precision']:.3f}",
        f"micro recall      {report['micro_recall']:.3f}",
        f"micro F1          {report['micro_f1']:.3f}",
        f"exact-set match   {report['exact_match']:.3f}",
        f"urgent recall     {report['urgent_recall']:.3f}",
        f"urgent FP rate    {report['urgent_fpr']:.3f}",
        "",
        f"wrong: {len(report['errors'])}",
    ]
    for error in report["errors"]:
        lines.append(
            f"- {error['id']} ({error['subject']}): expected {error['expected_sections']}"
            f" urgent={error['expected_urgent']}; got {error['predicted_sections']}"
            f" urgent={error['predicted_urgent']}"
        )
        for section_id, evidence in error["evidence"].items():
            lines.append(f"    {section_id}: {'; '.join(evidence)}")
        for reason in error["urgency_reasons"]:
            lines.append(f"    urgent because {reason}")
    return "\n".join(lines)


def _counts(outcomes: Sequence[Outcome], section_id: str) -> Counts:
    tp = fp = fn = 0
    for outcome in outcomes:
        wanted = section_id in outcome.message.sections
        found = section_id in outcome.predicted
        tp += wanted and found
        fp += found and not wanted
        fn += wanted and not found
    return Counts(tp, fp, fn)


def _share(outcomes: Sequence[Outcome], test: Any, *, empty: float = 1.0) -> float:
    if not outcomes:
        return empty
    return round(sum(1 for outcome in outcomes if test(outcome)) / len(outcomes), 4)


def _error(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.message.id,
        "subject": outcome.message.subject,
        "expected_sections": sorted(outcome.message.sections),
        "expected_urgent": outcome.message.urgent,
        "predicted_sections": [match.section_id for match in outcome.triage.sections],
        "predicted_urgent": outcome.flagged,
        "evidence": {match.section_id: list(match.evidence) for match in outcome.triage.sections},
        "urgency_reasons": list(outcome.triage.urgency_reasons),
    }
