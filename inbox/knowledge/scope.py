"""Whether a matched phrase is negated, in the past, or only hypothetical."""

from __future__ import annotations

from inbox.knowledge.patterns import Doc, Match, Pattern, compile_cues, find_all
from inbox.knowledge.text import Normaliser

NEGATORS = frozenset({"no", "not", "never", "without", "nor", "neither", "none", "deny", "denies"})
# "not sure", "no idea": the negator does not negate what follows.
PSEUDO_NEGATION_NEXT = frozenset(
    {"know", "sure", "idea", "matter", "only", "just", "certain", "understand", "doubt", "much"}
)
LIST_WORDS = frozenset({"or", "nor", "and", "any", "other"})
NEW_SUBJECTS = frozenset(
    {"i", "he", "she", "we", "they", "his", "her", "my", "their", "our", "it", "there"}
)
OPINION_WORDS = frozenset({"think", "believe", "feel", "suppose", "guess"})
NEGATION_REACH = 4

# Markers, in the cue language, that put a clause in the distant past.
PAST_CUES = (
    "last year|last month|last week",
    "year|years|month|months|week|weeks|day|days + ago",
    "in the past",
    "used to",
    "history of",
    "previously|=once|formerly|=past|previous|prior",
    "as a child|as a kid|as a baby|when i was|when he was|when she was|long ago|years back",
    "childhood|teenager|in my youth",
)
CONTINUING_WORDS = frozenset({"still", "again", "worse", "worsening", "back"})
YEAR_WORDS = frozenset({"in", "since", "back", "during"})
# A sentence that ends in one of these words speaks of the past ("he had a bleed before").
TRAILING_PAST_WORDS = frozenset({"before", "previously", "once", "earlier", "ago"})
# Markers that the clause is about now (they outweigh a past marker).
RECENT_CUES = (
    "now|today|tonight|currently|suddenly|still|yesterday",
    "this morning|this afternoon|this evening|this week",
    "last night",
    "minutes|minute|hour|hours + ago",
    "at the moment",
    "keep|keeps",
    "past hour|past few hours|last hour|last few hours|past day|last few minutes",
)
# Markers that what came before is over ("now it is fine"); they count as past markers and
# cancel the "now" inside them.
RESOLVED_CUES = (
    "now + fine|ok|okay|better|normal|good|well|recovered|resolved|gone",
    "fine|ok|okay|better|normal|recovered|gone + now",
    "back to normal|went away|has recovered|recovered well",
    "today + fine|ok|okay|better|normal|well|recovered|resolved",
    "fixed|corrected|sorted|brought + it|that|down",
)
# Markers that the clause is about now, even against a hypothetical marker.
NOW_CUES = (
    "right now|at the moment|currently|=now|today|tonight",
    "this morning|this afternoon|this evening",
    "minutes|minute|hour|hours + ago",
)
# Markers, placed before the phrase in the same clause, that make it hypothetical or general.
HYPOTHETICAL_CUES = (
    "=if|whether|ever|in case",
    "sign of|signs of|symptom of|symptoms of|risk of|warning of",
    "warning signs",
    "=read|=heard|=reading|online|website|internet|article|google|forum|leaflet",
    "mean|means|indicate|indicates|signal|signals|suggest|suggests",
    "cause|causes|caused|lead to|leads to",
    "prevent|avoid|chance",
    "what happens",
)

# Markers, placed after the phrase in the same clause, that make it a question about the future
# ("is the seizure likely to happen again?", "could the bleed come back?").
RECURRENCE_CUES = (
    "happen|occur|recur|return|repeat + again|future|later|back",
    "come back|coming back|recur|recurring|happen again|occur again",
    "1 day|some day|someday|in the future|in future|later in life|when i am older",
    "can happen|could happen|may happen|might happen|can occur|could occur|may occur",
)
# "Is shortness of breath a sign ...?", "Can a seizure ...?": a question that opens with the
# phrase asks about it in general, not about the writer.
GENERAL_QUESTION_OPENERS = frozenset(
    {"is", "are", "can", "could", "does", "do", "will", "would", "should", "what", "a", "an"}
)
MONTHS = frozenset(
    {
        "january", "february", "march", "april", "june", "july", "august", "september",
        "october", "november", "december",
    }
)  # fmt: skip


class Scope:
    """Compiled time and hypothesis markers; answers questions about one match in one Doc."""

    def __init__(self, normaliser: Normaliser) -> None:
        self._past = compile_cues(PAST_CUES, normaliser, window=1)
        self._recent = compile_cues(RECENT_CUES, normaliser, window=1)
        self._now = compile_cues(NOW_CUES, normaliser, window=1)
        self._hypothetical = compile_cues(HYPOTHETICAL_CUES, normaliser, window=1)
        self._resolved = compile_cues(RESOLVED_CUES, normaliser, window=3)
        self._recurrence = compile_cues(RECURRENCE_CUES, normaliser, window=3)

    def markers(self, doc: Doc) -> dict[str, list[Match]]:
        """Every time and hypothesis marker in the message, by kind."""
        resolved = [
            match
            for match in find_all(self._resolved, doc)
            if not is_negated(doc, match)
            and not _continues(doc, match.last + 1, doc.tokens[match.last].sentence)
        ]

        def present(patterns: tuple[Pattern, ...]) -> list[Match]:
            return [
                match
                for match in find_all(patterns, doc)
                if not any(_distance(match, other) == 0 for other in resolved)
            ]

        return {
            "past": find_all(self._past, doc) + _years(doc) + _trailing_past(doc) + resolved,
            "recent": present(self._recent),
            "now": present(self._now),
            "hypothetical": find_all(self._hypothetical, doc),
            "recurrence": find_all(self._recurrence, doc),
            "resolved": resolved,
        }

    @staticmethod
    def is_current(doc: Doc, match: Match, markers: dict[str, list[Match]]) -> bool:
        """True unless the match is negated, in the distant past, or hypothetical."""
        if is_negated(doc, match):
            return False
        clause = doc.tokens[match.first].clause

        def in_clause(kind: str) -> list[Match]:
            return [item for item in markers[kind] if doc.tokens[item.first].clause == clause]

        now = in_clause("now")
        if not now and any(item.first < match.first for item in in_clause("hypothetical")):
            return False
        if not now and any(item.first > match.last for item in in_clause("recurrence")):
            return False
        if not now and _opens_general_question(doc, match):
            return False
        # "it was 7 yesterday and they fixed it", "he was confused yesterday but today he is
        # fine": a resolution in this clause or the next one of the sentence closes the matter
        sentence = doc.tokens[match.first].sentence
        if not now and any(
            doc.tokens[item.first].sentence == sentence
            and clause <= doc.tokens[item.first].clause <= clause + 1
            for item in markers["resolved"]
        ):
            return False
        past = [item for item in in_clause("past") if not _closes_earlier_phrase(doc, item, match)]
        if not past:
            return True
        # Both past and present markers: the one nearest to the phrase decides
        # ("I had a heart attack in 2015 and I'm fine now" is about the past).
        nearest_past = min(_distance(item, match) for item in past)
        present = now + in_clause("recent")
        return bool(present) and min(_distance(item, match) for item in present) <= nearest_past


def is_negated(doc: Doc, match: Match) -> bool:
    """True when a negating word shortly before a part of the match, in its clause, covers it."""
    inside = {position for first, last in match.spans for position in range(first, last + 1)}
    return any(_negated_before(doc, first, inside) for first, _ in match.spans)


def _negated_before(doc: Doc, start: int, inside: set[int]) -> bool:
    tokens = doc.tokens
    clause = tokens[start].clause
    reach = NEGATION_REACH
    position = start - 1
    steps = 0
    while position >= 0 and tokens[position].clause == clause and steps < reach:
        if position not in inside:
            word = tokens[position].norm
            following = tokens[position + 1].norm
            if word in NEGATORS and following not in PSEUDO_NEGATION_NEXT:
                return True
            if word in ("and", "or") and following in NEW_SUBJECTS:
                return False  # "he does not pee and his breathing is hard": a new subject
            if word in LIST_WORDS:
                reach += 1
            if word in OPINION_WORDS:
                reach += 3  # "I don't think it is the fluid"
        steps += 1
        position -= 1
    return False


def _closes_earlier_phrase(doc: Doc, marker: Match, match: Match) -> bool:
    """True for "creatinine 8 last week, no urine for 4 days": a time marker that ends a
    phrase before a comma belongs to that phrase, not to what follows the comma."""
    tokens = doc.tokens
    if marker.last >= match.first or marker.first == 0:
        return False
    before = tokens[marker.first - 1]
    if before.clause != tokens[marker.first].clause:
        return False  # the marker opens its clause: "Last year, I had a seizure"
    gap = doc.text[tokens[marker.last].end : tokens[match.first].start]
    return "," in gap


def _opens_general_question(doc: Doc, match: Match) -> bool:
    """True for "Is chest pain normal ...?": only question words before the phrase, and a '?'."""
    tokens = doc.tokens
    sentence = tokens[match.first].sentence
    position = match.first - 1
    openers = 0
    while position >= 0 and tokens[position].sentence == sentence:
        if tokens[position].norm not in GENERAL_QUESTION_OPENERS:
            return False
        openers += 1
        position -= 1
    if openers == 0:
        return False
    end = match.last + 1
    while end < len(tokens) and tokens[end].sentence == sentence:
        end += 1
    tail = doc.text[tokens[end - 1].end : tokens[end].start if end < len(tokens) else len(doc.text)]
    return "?" in tail


def _continues(doc: Doc, start: int, sentence: int) -> bool:
    """True when the rest of the sentence says the matter goes on ("... but she is still weak")."""
    for token in doc.tokens[start:]:
        if token.sentence != sentence:
            return False
        if token.norm in CONTINUING_WORDS:
            return True
    return False


def _trailing_past(doc: Doc) -> list[Match]:
    tokens = doc.tokens
    return [
        Match(position, position, ((position, position),))
        for position, token in enumerate(tokens)
        if token.norm in TRAILING_PAST_WORDS
        and (position + 1 == len(tokens) or tokens[position + 1].sentence != token.sentence)
    ]


def _years(doc: Doc) -> list[Match]:
    found: list[Match] = []
    for position, token in enumerate(doc.tokens[1:], 1):
        is_year = token.value is not None and 1950 <= token.value <= 2100
        if (is_year or token.norm in MONTHS) and doc.tokens[position - 1].norm in YEAR_WORDS:
            found.append(Match(position - 1, position, ((position - 1, position),)))
    return found


def _distance(one: Match, other: Match) -> int:
    return max(0, one.first - other.last, other.first - one.last)
