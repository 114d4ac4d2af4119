"""Urgency: does the message describe an emergency happening now?

Each rule names the reason shown to staff. A rule fires on a phrase that is not negated, not in the
distant past ("last year") and not hypothetical ("if I ever get chest pain"). When in doubt the
rules lean towards urgent: a missed emergency costs far more than a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbox.knowledge.cues import cue_words, parse_cue
from inbox.knowledge.measures import find_measurements, lab_words
from inbox.knowledge.patterns import Doc, Match, Pattern, compile_cues, find_all
from inbox.knowledge.scope import Scope
from inbox.knowledge.text import Normaliser

URGENCY_WINDOW = 5
VERY_HIGH_POTASSIUM = 6.5  # mmol/L


@dataclass(frozen=True)
class UrgencyRule:
    reason: str
    cues: tuple[str, ...]
    requires: tuple[str, ...] = ()  # another phrase that must also be in the message, now
    unless: tuple[str, ...] = ()  # phrases that, overlapping the match, cancel it


PALPITATIONS = (
    "heart|heartbeat|pulse + racing|races|pounding|pounds|fluttering|irregular|irregularly"
    "|skipping|flutter|beating fast|all over the place|jumping|=fast|very fast|so fast|rapid"
)
URGENCY_RULES = (
    UrgencyRule(
        "chest pain",
        (
            "chest + pain|pains|pian|ache|aching|pressure|tight|tightness|hurt|hurts|hurting|heavy"
            "|heaviness|squeezing|crushing|burning",
            "heart attack",
            "pain in my heart|pain in the heart|heart pain|heart pains|heart hurts|heart is hurting"
            "|heart aches|heart is aching",
        ),
    ),
    UrgencyRule(
        "sudden severe headache",
        (
            "worst headache|thunderclap",
            "headache|headaches + sudden|suddenly|worst|exploding|explosive|out of nowhere",
        ),
    ),
    UrgencyRule(
        "severe headache with vomiting or a stiff neck",
        (
            "headache|headaches + severe|terrible|excruciating|unbearable|splitting|awful"
            "|horrible|very bad|really bad|blinding",
        ),
        requires=(
            "vomit|vomits|vomited|vomiting|throwing up|threw up|stiff neck|blurred|double vision"
            "|can not see",
            "neck + stiff",
        ),
        # a headache that comes with every session is the question of the article, not an alarm
        unless=("headache|headaches + every|each|always|usually|often|sometimes|most",),
    ),
    UrgencyRule(
        "signs of a stroke (one-sided weakness, face droop or slurred speech)",
        (
            "left|right|1 side|half + weak|weakness|numb|numbness|droop|drooping|paralysed"
            "|paralyzed|can not move|limp|dead|can not lift|can not raise|can not use|can not feel",
            "face|mouth|smile|lip + droop|drooping|droops|dropped|lopsided|crooked|fallen|twisted",
            "1 arm|1 leg|1 hand + weak|weakness|numb|numbness|can not move|limp|dead|can not lift"
            "|can not raise|can not use",
            "slurred|slurring|slur + speech|words|talking|speaking",
            "speech + slurred|garbled|strange|funny",
            "can not speak|can not talk|unable to speak|can not get his words"
            "|can not get her words",
            "having a stroke|had a stroke|suffered a stroke|stroke now",
            "brain|head + bleed|bleeding|haemorrhage|hemorrhage",
        ),
        # the fear of a stroke is not a stroke ("worried about a brain bleed")
        unless=(
            "worried about|worry about|afraid of|scared of|fear of|frightened of|risk of"
            "|chance of|mentioned + stroke|strokes|bleed|bleeding|haemorrhage|hemorrhage",
            # "I can't talk to the nurses": not a loss of speech
            "can not talk to|can not speak to|can not talk with|can not speak with"
            "|can not talk about|can not speak about|can not speak english|can not speak the",
        ),
    ),
    UrgencyRule(
        "breathing trouble",
        (
            "breath|breathe|breathing + can not|hard|trouble|difficult|difficulty|short|shortness"
            "|struggle|struggling|gasp|gasping|unable|labored|laboured|out",
            "breathless|breathlessness|suffocating|choking|not breathing|gasping|air hunger",
            "throat|tongue + swelling|swollen|closing|tight",
            "gasping|struggling|fighting + for air|for breath",
        ),
    ),
    UrgencyRule(
        "fainting or loss of consciousness",
        (
            "=fainted|=fainting|=faints|passed out|passing out|pass out|blacked out|black out"
            "|lost consciousness|unconscious|collapsed|collapse|unresponsive",
            "will not wake|can not wake|not waking|would not wake",
            "he|she|him|her|mum|mom|dad|father|mother|husband|wife|son|daughter|brother|sister"
            " + not responding|not respond|not responsive|no response|not reacting",
            "eyes + rolling|rolled back|rolled up|rolling back",
        ),
        unless=(
            "nearly|almost|about to|felt like|feel like|going to + faint|fainted|pass out"
            "|passed out|collapse|collapsed|black out|blacked out",
        ),
    ),
    UrgencyRule(
        "seizure",
        (
            "seizure|seizures|=seizing|convulsion|convulsions|convulsing|having a fit|had a fit",
            "foaming|frothing + mouth",
            "shaking all over|jerking all over|twitching all over|whole body shaking"
            "|whole body jerking|whole body is shaking|whole body is jerking",
        ),
    ),
    UrgencyRule(
        "confusion or unusual drowsiness",
        (
            "=confused|=confusion|=confuse|disoriented|disorientated|delirious|not making sense"
            "|talking nonsense|gibberish|muddled|very drowsy|very sleepy|hard to wake|not himself"
            "|not herself",
            "not recognise|not recognize|not recognizing|not recognising|not making any sense"
            "|making no sense",
            "not know|not knowing + where she is|where he is|who we are|who i am|what day",
            "falling asleep|falls asleep|fall asleep + talking|mid sentence|while|keeps",
        ),
        unless=(
            "=confused|=confusion|=confusing + about|by|with|as to|what|how|why|whether|which",
            "=confuse|=confuses|=confusing + me|us|you",
        ),
    ),
    UrgencyRule(
        "very high potassium",
        ("potassium|=k + very high|dangerously|dangerous|critical|critically|extremely high",),
    ),
    UrgencyRule(
        "no urine with breathlessness or swelling",
        (
            "no urine|not passed urine|not passing urine|not peed|not urinated|not urinating"
            "|no pee|stopped peeing|stopped urinating|anuria|=anuric|not making urine"
            "|not made urine|not passed water|no wee|not pee|not peeing|not urinate|not wee"
            "|not pass urine|not passing water|stopped passing urine",
        ),
        requires=("breath|breathe|breathless|breathing|swelling|swollen|swell|edema|oedema|puffy",),
    ),
    UrgencyRule(
        "heavy bleeding",
        (
            "bleeding|bleeds|bleed + heavy|heavily|lot|not stop|will not stop|can not stop"
            "|pouring|spurting|everywhere|gushing|soaked|badly",
            "lot of blood|blood everywhere|so much blood",
            "blood + pouring|spurting|gushing|will not stop|would not stop",
            "vomiting blood|vomited blood|coughing blood|coughing up blood|blood in vomit",
        ),
    ),
    UrgencyRule(
        "fever with chills (possible infection)",
        ("fever|temperature + chills|shivering|shaking|rigors|rigor",),
    ),
    UrgencyRule(
        "palpitations with a potassium problem",
        (PALPITATIONS,),
        requires=("potassium|=k",),
    ),
    UrgencyRule(
        "palpitations with faintness",
        (PALPITATIONS, "palpitations|palpitation"),
        requires=(
            "faint|pass out|passing out|black out|blacking out|dizzy|dizy|dizziness|lightheaded"
            "|light headed|collapse|keel over",
        ),
    ),
)


def urgency_lexicon() -> set[str]:
    """Every word the urgency rules use (targets of spelling correction)."""
    words: set[str] = set()
    for rule in URGENCY_RULES:
        for cue in rule.cues + rule.requires + rule.unless:
            words |= cue_words(parse_cue(cue))
    return words


# a rule with its cues, requirements and exceptions compiled
_CompiledRule = tuple[UrgencyRule, tuple[Pattern, ...], tuple[Pattern, ...], tuple[Pattern, ...]]


class UrgencyAssessor:
    """The urgency rules, compiled once per Knowledge."""

    def __init__(self, normaliser: Normaliser) -> None:
        self._scope = Scope(normaliser)

        def compiled(cues: tuple[str, ...]) -> tuple[Pattern, ...]:
            return compile_cues(cues, normaliser, window=URGENCY_WINDOW)

        self._rules = tuple(
            (rule, compiled(rule.cues), compiled(rule.requires), compiled(rule.unless))
            for rule in URGENCY_RULES
        )
        # which cues a word can open: a message is checked only against the cues its words open
        self._cues_opened_by: dict[str, list[tuple[int, Pattern]]] = {}
        for number, (_, cues, _, _) in enumerate(self._rules):
            for cue in cues:
                for key in cue.opening_keys:
                    self._cues_opened_by.setdefault(key, []).append((number, cue))
        self._potassium_keys = tuple("=" + word for word in lab_words("potassium"))

    def assess(self, doc: Doc) -> tuple[str, ...]:
        """The reasons the message is urgent; empty when it is not."""
        # Most messages open no cue at all: then no rule can fire, and the costlier negation
        # and tense markers are not worth computing.
        candidates = self._candidates(doc)
        potassium = []
        if any(key in doc.index for key in self._potassium_keys):
            potassium = [
                found
                for found in find_measurements(doc.tokens)
                if found.measure == "potassium" and found.value >= VERY_HIGH_POTASSIUM
            ]
        if not candidates and not potassium:
            return ()
        markers = self._scope.markers(doc)
        reasons: list[str] = []
        for rule, cues, requires, unless in candidates:
            exceptions = find_all(unless, doc)
            found = self._current(doc, cues, markers, exceptions)
            if found is None:
                continue
            if requires and self._current(doc, requires, markers, []) is None:
                continue
            reasons.append(f"{rule.reason}: “{doc.quote(found)}”")
        for measurement in potassium:
            span = (measurement.first, measurement.last)
            match = Match(measurement.first, measurement.last, (span,))
            if self._scope.is_current(doc, match, markers):
                reasons.append(f"very high potassium: “{doc.quote(match)}”")
                break
        return tuple(reasons)

    def _candidates(self, doc: Doc) -> list[_CompiledRule]:
        """The rules (in their order) with a cue that may match: one it opens, whose every
        word group has a first word in the message."""
        numbers: set[int] = set()
        for key in doc.index:
            for number, cue in self._cues_opened_by.get(key, ()):
                if number not in numbers and cue.may_match(doc):
                    numbers.add(number)
        return [self._rules[number] for number in sorted(numbers)]

    def _current(
        self,
        doc: Doc,
        patterns: tuple[Pattern, ...],
        markers: dict[str, list[Match]],
        exceptions: list[Match],
    ) -> Match | None:
        """The first match that describes the present; the message body outranks the subject."""
        matches = find_all(patterns, doc)
        if any(not doc.in_subject(match) for match in matches):
            matches = [match for match in matches if not doc.in_subject(match)]
        for match in sorted(matches, key=lambda item: item.first):
            if any(_overlaps(match, other) for other in exceptions):
                continue
            if self._scope.is_current(doc, match, markers):
                return match
        return None


def _overlaps(one: Match, other: Match) -> bool:
    return one.first <= other.last and other.first <= one.last
