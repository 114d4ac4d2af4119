"""Red flags by concept: what the body is doing, in several languages, in its context."""

from __future__ import annotations

import pytest

from inbox.config import Settings
from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.loader import Knowledge, load_knowledge
from inbox.knowledge.service import assess_urgency, rule_triage, triage_message


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    settings = Settings()
    return load_knowledge(settings.knowledge_dir(), site_base_url="https://hospital.example")


# (message, the concept's label that staff must read) — none of them names the condition
DESCRIBED = [
    ("Her mouth droops on the right since twenty minutes.", "stroke sign"),
    ("His face is pulled to one side and he is dribbling.", "stroke sign"),
    ("Mum suddenly can't hold a spoon, it keeps falling from her hand.", "stroke sign"),
    ("His eyes rolled up and his whole body went stiff and jerking.", "seizure"),
    ("She grabbed her head, says something burst inside it.", "sudden severe headache"),
    ("Dad slid off the chair after dialysis and is grey.", "collapse or fainting"),
    ("His chest is bubbling and rattling when he breathes.", "breathing trouble"),
    ("Nan is not waking properly since this morning.", "collapse or fainting"),
    ("Grandad is muddled and does not know where he is.", "new confusion or drowsiness"),
    ("I can't lie flat, I have to sleep sitting up in a chair.", "breathing trouble"),
    ("Like an elephant sitting on my chest since I got home.", "chest pain or pressure"),
    ("The lab rang: K 7.2 and my legs feel like jelly.", "very high potassium"),
    ("Took 4.5 off today and now my pressure is 70/40 and I feel faint.", "very low blood"),
    ("My fistula keeps bleeding, it has soaked through two dressings.", "heavy bleeding"),
    ("Shivering under three blankets and burning hot, she has a neck line.", "fever or rigors"),
    # Hinglish, Tagalog, Nigerian Pidgin, Indonesian and Malay
    ("papa ka muh ek taraf tedha ho gaya hai, bol nahi pa rahe", "stroke sign"),
    ("mummy ko saans nahi aa rahi, let nahi pa rahi", "breathing trouble"),
    ("Si lola biglang hindi makahinga, nakaupo lang buong gabi", "breathing trouble"),
    ("Hinimatay si tatay pagkatapos ng dialysis", "collapse or fainting"),
    ("My papa mouth don turn one side and e no fit talk", "stroke sign"),
    ("Ibu saya sesak napas dan dada terasa berat seperti ditekan", "breathing trouble"),
    ("Darah dari fistula tidak berhenti sejak satu jam", "heavy bleeding"),
    ("Ayah saya tiba-tiba pengsan lepas dialisis", "collapse or fainting"),
    # grammar-light English of Chinese and Arabic speakers
    ("my father hand no power, mouth go one side, since morning", "stroke sign"),
    ("he chest very pain and no can breathe", "chest pain or pressure"),
]


@pytest.mark.parametrize(("text", "label"), DESCRIBED)
def test_a_red_flag_told_as_what_the_body_does_is_urgent_and_named(knowledge, text, label):
    result = triage_message(knowledge, subject="help", text=text)
    assert result.urgent
    assert any(reason.startswith(label) for reason in result.urgency_reasons), (
        result.urgency_reasons
    )


def test_the_reason_quotes_the_patients_own_words(knowledge):
    reasons = assess_urgency(knowledge, subject="mum", text="Her mouth droops on one side.")
    assert reasons == ("stroke sign: “mouth droops”",)


@pytest.mark.parametrize(
    "text",
    [
        "No chest pain, no breathlessness, speech fine, no weakness. Just the cramps.",
        "Last spring he had a mini stroke; he is well now. Will the cramps stop?",
        "I'm terrified of having a stroke like my uncle did. I feel fine.",
        "Can low sodium cause seizures in dialysis patients?",
        "My mouth droops a little since my stroke in 2019, it has not changed.",
        "I had a bleed in the brain two years ago and recovered. Is dialysis safe?",
        "My potassium was 7.0 last year but it is fine now.",
        "Walang chest pain, hindi nahihirapan huminga, pulikat lang.",
        "seene mein koi dard nahi hai, saans bhi theek hai",
        "I no get chest pain, na only my leg dey catch me.",
        "Tidak ada sesak, hanya kram di akhir HD.",
    ],
)
def test_negated_past_feared_and_general_red_flags_are_not_urgent(knowledge, text):
    result = triage_message(knowledge, subject="question", text=text)
    assert not result.urgent, result.urgency_reasons


def test_a_weak_combination_is_a_possible_emergency_not_a_sure_one(knowledge):
    result = triage_message(
        knowledge, subject="dad", text="Dad keeps falling to one side when he walks."
    )
    assert result.urgent and result.possible
    assert result.urgency_reasons[0].startswith("possible stroke sign")


def test_a_message_in_a_language_the_rules_cannot_read_needs_a_reader(knowledge):
    result = triage_message(
        knowledge,
        subject="mama",
        text="Mama yangu ana maumivu makali na hatujui la kufanya, tafadhali tusaidie haraka.",
    )
    assert result.needs_reader
    assert result.language == "sw"
    spanish = triage_message(
        knowledge, subject="mi papá", text="Mi papá no puede respirar y tiene dolor en el pecho."
    )
    assert spanish.language == "es" and not spanish.needs_reader and spanish.urgent
    english = triage_message(knowledge, subject="q", text="My legs cramp at the end of dialysis.")
    assert not english.needs_reader and english.language == "en"


def test_a_tagalog_message_is_read_not_sent_to_a_reader(knowledge):
    result = triage_message(
        knowledge, subject="lola", text="Si lola po ay hindi makahinga at nahimatay kanina."
    )
    assert result.urgent
    assert not result.needs_reader


def test_numbers_without_units_are_read_from_their_context(knowledge):
    removed = triage_message(
        knowledge, subject="q", text="They took 4.5 off me in three hours and I cramped."
    )
    bath = triage_message(knowledge, subject="q", text="They run everyone on a 133 bath here.")
    assert "fluid-removal-too-fast" in {match.section_id for match in removed.sections}
    assert "low-sodium-dialysate" in {match.section_id for match in bath.sections}


def test_a_gain_counts_relative_to_a_small_body(knowledge):
    small = triage_message(
        knowledge,
        subject="q",
        text="I weigh only 41 kg and I gain 2 kg between sessions, then cramp at the end.",
    )
    assert "fluid-removal-too-fast" in {match.section_id for match in small.sections}
    # the rules weigh a 2 kg gain as usual for an average body; the learned layer does not
    # read magnitudes yet and may still suggest fluid removal for it (see service.combine)
    usual = rule_triage(
        knowledge, subject="q", text="I gain 2 kg between sessions, then cramp at the end."
    )
    assert "fluid-removal-too-fast" not in {match.section_id for match in usual.sections}


def test_a_ruled_out_cause_is_not_evidence_for_it(knowledge):
    result = triage_message(
        knowledge,
        subject="q",
        text="My gains are the same as always, about 2 kg. What else can cause the cramps?",
    )
    assert "fluid-removal-too-fast" not in {match.section_id for match in result.sections}
    assert "other-causes" in {match.section_id for match in result.sections}


def test_spelling_correction_never_rewrites_a_common_word(knowledge):
    normaliser = RuleEngine.of(knowledge).normaliser
    assert "graft" in normaliser.lexicon  # an access word of the rules
    assert normaliser.correct("grant") == "grant"
    assert normaliser.correct("grafft") == "graft"
    assert normaliser.correct("dialisys") == "dialysis"


def test_an_arm_gone_dead_with_chest_pain_is_the_hearts_not_a_strokes(knowledge):
    result = triage_message(
        knowledge, subject="help", text="Crushing in my chest and my left arm is dead, sweating."
    )
    assert result.urgent
    assert [reason.split(":")[0] for reason in result.urgency_reasons] == ["chest pain or pressure"]
    assert result.sections == ()  # an emergency outside the articles


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        # what is left of an old event, told in the present tense
        (
            "hand",
            "Two years back she had a stroke and her left arm still hangs weak, the physio"
            " says it is permanent.",
        ),
        # over by the next sentence
        ("speech", "His words came out slurred at lunch. It settled within five minutes."),
        # negation and the past after the verb (Hindi and Urdu), Tagalog and Spanish negation
        ("cramps", "unki saans ki koi dikkat nahi, bas pair mein cramps aate hain"),
        ("potassium", "papa ka potassium pichle mahine 7.1 tha, ab normal aata hai"),
        ("cramps", "Wala naman pong sakit sa dibdib si tatay, pulikat lang."),
        ("calambres", "No tiene fiebre ni le falta el aire, solo calambres."),
        # a trigger that looks both ways ("one day")
        ("worried", "I worry she will have a fit one day because her sodium is low."),
        # the subject names a red flag that the message tells as a question about the future
        (
            "seizure?",
            "My son starts dialysis next month and they will go slowly to avoid problems.",
        ),
        # the writer's own puzzlement, and another language's word near a lexicon word
        ("question", "I am confused which of the changes makes my cramps worse."),
        ("misuli", "Wananitoa lita 3 za maji kila mara, miguu inakaza."),
    ],
)
def test_the_rules_set_aside_what_is_over_lasting_negated_or_asked(knowledge, subject, text):
    result = rule_triage(knowledge, subject=subject, text=text)
    assert not result.urgent, result.urgency_reasons


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("chest", "It settled for an hour. Now the pain in my chest is back and crushing."),
        ("stroke", "Since ten minutes ago he cannot speak properly, what do we do?"),
        ("fit", "Pt had tonic clonic activity on the machine, post ictal now."),
    ],
)
def test_a_current_red_flag_stays_urgent_beside_those_kinds(knowledge, subject, text):
    result = rule_triage(knowledge, subject=subject, text=text)
    assert result.urgent, result.urgency_reasons


def test_a_word_as_common_as_its_nearest_rule_word_is_not_corrected(knowledge):
    normaliser = RuleEngine.of(knowledge).normaliser
    assert normaliser.correct("lita") == "lita"  # Swahili for litres, not Tagalog "lito"
