"""Which language a message is in, and whether the rules can read it (data/languages.toml).

Most mail is English: when enough of its words are English words in common use nothing more is
done. Otherwise lingua, restricted to the languages listed, names the language. A message mostly
made of words the rules do not know (neither common English nor lexicon words) needs a reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from inbox.knowledge.patterns import Doc
from inbox.knowledge.rulebook import KnowledgeFileError, Languages
from inbox.knowledge.text import Normaliser

ENGLISH = "en"
UNDETERMINED = "und"  # ISO 639-2 for "not determined"


@dataclass(frozen=True, slots=True)
class LanguageJudgement:
    language: str  # ISO 639-1 code, or "und"
    known_share: float  # share of the message's words the rules know
    needs_reader: bool


class LanguageReader:
    """Judges the language of messages; the lingua detector is built once, on first need (or
    by ``load``), with every model loaded at once.

    lingua's low-accuracy mode (trigrams only) is used: it loads its models for all the listed
    languages in about 0.6 s and 33 MB, where the full mode took 9 s and 480 MB, or about 6 s
    the first time it met one Latin-script text, inside whatever transaction was open. The
    detector only runs on messages that are mostly not common English, which are long enough
    for trigrams.
    """

    def __init__(self, rules: Languages, normaliser: Normaliser) -> None:
        self._rules = rules
        self._normaliser = normaliser
        try:
            self._languages = [getattr(Language, name) for name in rules.detect]
        except AttributeError as error:
            raise KnowledgeFileError(f"languages.toml: detect: unknown language {error}") from error
        self._detector: LanguageDetector | None = None

    def judge(self, doc: Doc, *, detect: bool) -> LanguageJudgement:
        """The language, the share of known words and whether a reader is needed.

        Without ``detect`` (the thank-you page's path) an unknown-looking message is "und".
        """
        rules = self._rules
        words = [token.norm for token in doc.tokens if token.value is None and len(token.norm) > 1]
        if len(words) < rules.min_words:
            return LanguageJudgement(ENGLISH, 1.0, False)
        english = sum(1 for word in words if self._normaliser.zipf(word) >= rules.common_zipf)
        if english / len(words) >= rules.known_share:
            return LanguageJudgement(ENGLISH, round(english / len(words), 2), False)
        share = sum(1 for word in words if self._known(word)) / len(words)
        language = self._detect(doc.text) if detect else UNDETERMINED
        readable = language in rules.readable
        needs_reader = share < rules.reader_share or (not readable and share < rules.known_share)
        return LanguageJudgement(language, round(share, 2), needs_reader)

    def _known(self, word: str) -> bool:
        normaliser = self._normaliser
        return word in normaliser.lexicon or normaliser.zipf(word) >= self._rules.common_zipf

    def load(self) -> LanguageDetector:
        """The detector, built now unless it was already."""
        if self._detector is None:
            self._detector = (
                LanguageDetectorBuilder.from_languages(*self._languages)
                .with_low_accuracy_mode()
                .with_preloaded_language_models()
                .build()
            )
        return self._detector

    def _detect(self, text: str) -> str:
        found = self.load().detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else UNDETERMINED
