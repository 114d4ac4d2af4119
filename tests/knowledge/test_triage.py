"""Triage of messages written for these tests (not the dev set): sections, evidence, urgency."""

from __future__ import annotations

import pytest

from inbox.config import Settings
from inbox.knowledge.loader import Knowledge, load_knowledge
from inbox.knowledge.service import Triage, rule_triage, triage_message

FLUID = "fluid-removal-too-fast"
DRY = "below-dry-weight"
SODIUM = "low-sodium-dialysate"
EFFICIENT = "high-efficiency-dialysis"
OTHER = "other-causes"
HERBS = "chinese-medicine-without-dialysis"
STAGE4 = "prolong-dialysis-stage-4"
LABS = "dialysis-creatinine-7-urea-135"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    settings = Settings()
    return load_knowledge(settings.knowledge_dir(), site_base_url="https://hospital.example")


def triage(knowledge: Knowledge, text: str, subject: str = "question") -> Triage:
    return triage_message(knowledge, subject=subject, text=text)


def suggested(result: Triage) -> set[str]:
    return {match.section_id for match in result.sections}


# (message, sections, urgent) — lay words, typos, third person, two problems, nothing covered.
CASES = [
    (
        "My wife gets terrible charley horses in the last hour on the machine. She puts on "
        "around 4 kilos between treatments and they pull it all off in 3.5 hours.",
        {FLUID},
        False,
    ),
    (
        "my calves lock up near the end of dialisys. they take off 4 litres every time "
        "because i come in heavy. why?",
        {FLUID},
        False,
    ),
    (
        "crampes at end of dialisys every time, they removing 4.5 liter water from me",
        {FLUID},
        False,
    ),
    (
        "They set my target weight lower two weeks ago and now I feel lightheaded when I get "
        "off the machine, and my legs seize up just as I reach the target.",
        {DRY},
        False,
    ),
    (
        "Our clinic changed to a dialysate with less sodiun last month. Since then my legs "
        "cramp much more. Is there a connection?",
        {SODIUM},
        False,
    ),
    (
        "My son began hemodialysis 10 days ago. Each time he comes home with a bad headache "
        "and vomits, and his legs cramp. Is the treatment too strong for him?",
        {EFFICIENT},
        False,
    ),
    (
        "I have had sugar diabetes for 25 years. My toes burn and tingle and I can't keep my "
        "legs still at night. Could this be nerve damage?",
        {OTHER},
        False,
    ),
    ("My calcium came back at 2.0 mmol/L. I get cramps during treatment. Related?", {OTHER}, False),
    (
        "Two issues: the unit lowered the sodium in my dialysate, and I also come in about "
        "3.5 kg over most sessions. My legs cramp badly in the fourth hour.",
        {SODIUM, FLUID},
        False,
    ),
    (
        "My GFR is 20 and my nephrologist says dialysis is maybe a year away. What can I do "
        "to slow the decline and push dialysis back?",
        {STAGE4},
        False,
    ),
    (
        "my brother creatinine 7.4 and urea 140, doctor want dialysis. he has no symptom. "
        "is dialysis compulsory?",
        {LABS},
        False,
    ),
    (
        "Is there a natural cure to reverse kidney failure so my wife can stop dialysis? "
        "We heard about acupuncture.",
        {HERBS},
        False,
    ),
    (
        "Ever since they gave me a bigger filter and turned up the pump, I feel sick and get "
        "headaches at the end of treatment.",
        {EFFICIENT},
        False,
    ),
    (
        "My BP crashes to 80 during the last part of each treatment and then my thighs "
        "cramp. I drink a lot between sessions.",
        {FLUID},
        False,
    ),
    (
        "I lost my appetite and dropped 4 kg of body weight, but they still dialyse me to "
        "the old target. Now I get awful cramps at the end and feel faint after.",
        {DRY},
        False,
    ),
    # A cause the patient rules out is not suggested; asking for other causes is.
    (
        "I only gain about 1.5 kg and my dry weight is correct. What else causes cramps?",
        {OTHER},
        False,
    ),
    (
        "My husband's dry weight is fine, the nurse checked, but the salt in the dialysis fluid "
        "was reduced.",
        {SODIUM},
        False,
    ),
    (
        "I only put on a kilo between sessions so fluid is not the issue. Night cramps at home "
        "too, and burning feet. What could it be?",
        {OTHER},
        False,
    ),
    (
        "Home from dialysis, crushing pressure in my chest going down my left arm.",
        set(),
        True,
    ),
    (
        "During dialysis I suddenly got the worst headache of my life and I am vomiting.",
        {OTHER},
        True,
    ),
    # Nothing the articles cover: no section rather than a guess.
    ("I was charged twice for the same visit. Please refund one of the payments.", set(), False),
    ("What time does the outpatient clinic open on Saturdays? Do I need a referral?", set(), False),
    ("Many thanks to the nurses on ward 5, you were wonderful to my grandmother.", set(), False),
    (
        "Our digital marketing agency will put your clinic on the first page of Google. "
        "Reply now for a free quote on our SEO packages.",
        set(),
        False,
    ),
    (
        "We sell a herbal kidney cleanse tea, 50% discount for your patients.",
        set(),
        False,
    ),
    (
        "We travel to Spain in August, can you arrange dialysis sessions there for my husband?",
        set(),
        False,
    ),
    # Emergencies now.
    (
        "My dad is on dialysis and he just collapsed in the kitchen and is not answering us.",
        set(),
        True,
    ),
    ("tight chest since 30 minutes and sweating, on dialysis 3 years. what to do", set(), True),
    (
        "My wife suddenly cannot lift her right arm and her words are slurred. She finished "
        "dialysis 2 hours ago.",
        {OTHER},
        True,
    ),
    (
        "Our neighbour is on dialysis and today she is not making any sense, she does not "
        "know where she is.",
        {OTHER},
        True,
    ),
    (
        "Hospital called, my mother's potassium is 6.9 and she feels very weak. Dialysis is "
        "tomorrow. Should she go to emergency?",
        {OTHER},
        True,
    ),
    # Alarming words that are negated, past or hypothetical: not urgent.
    (
        "I get cramps at the end of my sessions. No chest pain, no shortness of breath, just "
        "the cramps. I gain about 3 kg between sessions.",
        {FLUID},
        False,
    ),
    (
        "My doctor said that if I ever get chest pain or cannot breathe I should call an "
        "ambulance. Does that apply to leg cramps too?",
        set(),
        False,
    ),
    (
        "I had a heart attack in 2015 and I'm fine now. These days only my legs cramp at the "
        "end of dialysis when they remove 3 litres.",
        {FLUID},
        False,
    ),
    (
        "Last year my dad passed out during a session, but he is fine now. He still gets "
        "cramps at the end though. Is the high flux machine the reason?",
        {EFFICIENT},
        False,
    ),
    (
        "What are the warning signs of a brain bleed in dialysis patients? My mother has "
        "cramps and I worry.",
        {OTHER},
        False,
    ),
]


@pytest.mark.parametrize(("text", "sections", "urgent"), CASES)
def test_own_messages_get_the_sections_and_urgency_a_nurse_would_give(
    knowledge, text, sections, urgent
):
    result = triage(knowledge, text)
    assert suggested(result) == sections
    assert result.urgent is urgent


def test_a_billing_question_suggests_no_section(knowledge):
    result = triage(knowledge, "Could you send me the invoice for my last visit?", "invoice")
    assert result.sections == ()
    assert not result.urgent


def test_no_chest_pain_is_not_urgent_but_chest_pain_now_is(knowledge):
    calm = triage(knowledge, "I have cramps after dialysis but no chest pain.")
    alarm = triage(knowledge, "I have cramps after dialysis and chest pain right now.")
    assert not calm.urgent
    assert alarm.urgent
    assert any("chest pain" in reason for reason in alarm.urgency_reasons)


def test_a_misspelt_message_still_matches_and_quotes_the_patients_words(knowledge):
    result = triage(knowledge, "crampes at end of dialisys, the sodiun in the bath is low", "help")
    assert SODIUM in suggested(result)
    evidence = " ".join(result.sections[0].evidence)
    assert "sodiun" in evidence


def test_every_suggestion_carries_the_words_that_led_to_it(knowledge):
    result = triage(knowledge, "My dry weight was lowered and I am dizzy when I stand up after.")
    assert [match.section_id for match in result.sections] == [DRY]
    for match in result.sections:
        assert match.evidence
        assert all(piece.lower() in result_text(match.evidence) for piece in match.evidence)
        assert match.score > 0
    assert any("dry weight" in piece.lower() for piece in result.sections[0].evidence)


def result_text(evidence: tuple[str, ...]) -> str:
    return " ".join(evidence).lower()


def test_a_subject_line_alone_does_not_override_a_calm_message(knowledge):
    result = triage_message(
        knowledge,
        subject="confused",
        text="I'm a bit confused about what dry weight means. My cramps start when they reach it.",
    )
    assert not result.urgent
    assert suggested(result) == {DRY}


def test_an_emergency_in_the_subject_line_alone_is_urgent(knowledge):
    result = triage_message(knowledge, subject="he cannot breathe", text="please call me back")
    assert result.urgent


def test_a_small_weight_gain_speaks_against_fluid_removal(knowledge):
    # how the rules read the size of a gain; the learned layer does not read magnitudes yet
    # and may still suggest fluid removal for a small gain (see service.combine)
    small = rule_triage(
        knowledge,
        subject="question",
        text="I only gain about 1 kg between sessions but still cramp.",
    )
    large = triage(knowledge, "I gain about 4 kg between sessions and cramp at the end.")
    assert FLUID not in suggested(small)
    assert FLUID in suggested(large)


def test_low_and_normal_calcium_values_are_told_apart(knowledge):
    low = triage(knowledge, "My blood test showed calcium 7.6 and I cramp at dialysis.")
    assert OTHER in suggested(low)
    assert any("7.6" in piece for piece in low.sections[0].evidence)


def test_very_high_potassium_is_urgent_only_when_it_is_current(knowledge):
    now = triage(knowledge, "The lab just phoned: potassium 7.1. What should I do?")
    past = triage(knowledge, "Two years ago my potassium was 7.1, now it is fine. Cramps though.")
    assert now.urgent and "potassium" in now.urgency_reasons[0]
    assert not past.urgent


def test_a_message_with_many_problems_gets_at_most_three_ranked_sections(knowledge):
    text = (
        "I gain 4 kg between sessions, my dry weight was lowered, the dialysate sodium is low, "
        "I was moved to a high flux dialyzer and my calcium is 7.9."
    )
    result = triage(knowledge, text)
    assert len(result.sections) == 3
    scores = [match.score for match in result.sections]
    assert scores == sorted(scores, reverse=True)


def test_triage_is_deterministic(knowledge):
    text = "my legs cramp at the end, they take off 4 litres and the bath sodium is 135"
    first = triage(knowledge, text)
    assert all(triage(knowledge, text) == first for _ in range(3))


def test_the_page_breaks_ties_towards_its_own_article(knowledge):
    text = "I am stage 4. Is chinese medicine any use?"
    stage4 = knowledge.section(STAGE4)
    assert stage4 is not None
    plain = triage_message(knowledge, subject="q", text=text)
    on_page = triage_message(knowledge, subject="q", text=text, page=stage4.url)
    assert suggested(plain) == suggested(on_page) == {HERBS, STAGE4}
    # (how near a tie must be for the page to decide: test_combination.py)
    assert on_page.sections[0].section_id == STAGE4


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("I nearly fainted getting up from the chair after dialysis.", False),
        ("My mother is not responding to us since she came home from dialysis.", True),
        ("I am not responding well to the treatment, the cramps continue.", False),
        ("She suddenly has numbness in one arm and her mouth droops.", True),
        ("If his potassium ever goes above 6.5, what should we do? Today it is 5.1.", False),
        ("I had a seizure as a child. Is dialysis safe for me?", False),
        ("When he was at dialysis today he got chest pain and now he cannot breathe.", True),
        ("He had a seizure two years ago. Could the seizure happen again on dialysis?", False),
        ("My dad is having a seizure again, what do we do", True),
        ("I have chest pain, is it likely to be my heart?", True),
        ("My heart is racing and I feel like I am going to faint.", True),
        ("Sometimes my heart races after dialysis, is that normal?", False),
        ("Mum vomited twice and has a terrible headache since this morning.", True),
        ("I get a terrible headache and vomit after every session, is this normal?", False),
        ("Blood is pouring from my fistula and won't stop.", True),
        ("The blood test results are not stopping me from worrying.", False),
        ("My mother was confused yesterday but today she is fine.", False),
        ("My mother was confused yesterday and today she is worse.", True),
        ("His potassium was 7.0 yesterday at dialysis and they fixed it.", False),
        ("Her potassium is 7.5, they brought it down a little but she still feels weak.", True),
        ("We are scared he might have a stroke one day.", False),
        ("I am worried about a brain bleed, my doctor mentioned it as a risk.", False),
        ("I am afraid he is having a stroke, his face is drooping.", True),
        ("Mom suddenly can't lift her left arm.", True),
        ("My husband does not react when we talk to him and his eyes are rolling.", True),
        ("I feel pain in my heart since one hour.", True),
        ("She is jerking and foaming at the mouth.", True),
        ("My legs are jerking at night, all over the bed.", False),
        ("He doesn't pee anymore and his breathing is difficult.", True),
        ("My heart beats very fast and I feel faint.", True),
        ("My wife isn't answering my emails about the bill.", False),
        ("Is shortness of breath a sign I need more dialysis?", False),
        ("Is my chest pain from the dialysis?", True),
        ("My brother says a seizure can happen on dialysis. Is that true?", False),
        ("My potassium was 6.6 in January, now it is 4.9.", False),
        ("Creatinine 8 last week, haven't peed in 4 days, can't breathe lying flat.", True),
        ("Last year, I had a seizure. Now I am fine.", False),
        ("my father have chest pian now", True),
        ("husband very confuse and sleepy since morning", True),
        ("These instructions confuse me.", False),
        ("I can't talk to the nurses about my cramps, they are too busy.", False),
        ("My grandfather just became unable to speak and his right side is limp.", True),
    ],
)
def test_urgency_follows_what_is_happening_now(knowledge, text, urgent):
    assert triage(knowledge, text).urgent is urgent


def test_black_stools_without_faintness_are_still_a_possible_emergency(knowledge):
    # the red flag needs faintness to be sure; without it the sign is current, not set aside,
    # so the learned layer may still send it to the top as "check now"
    result = triage(knowledge, "black stools for two days")
    assert result.urgent and result.possible
    assert any("stools" in reason for reason in result.urgency_reasons)


def test_black_stools_the_nurse_put_down_to_iron_are_not_flagged(knowledge):
    text = "My stools went black when I started the iron tablets; the nurse said that is expected."
    assert not triage(knowledge, text).urgent
