"""Turn raw submitted fields into a clean Submission, or per-field errors people can act on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from inbox.config import Settings

FIELDS = ("name", "email", "subject", "message")
OPTIONAL_FIELDS = ("page", "next", "form_token", "website", "phone")
MAX_PHONE = 40
HONEYPOT = "website"  # invisible to people; bots fill it in
# Unicode's control characters (category Cc) and lone surrogates (Cs: they cannot be stored or
# sent). Format characters (Cf) stay: emoji joiners, right-to-left marks. Long text keeps \n, \t.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = {"\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"}


@dataclass(frozen=True)
class Submission:
    name: str
    email: str  # normalised: what identifies the contact
    subject: str
    message: str
    page: str | None = None
    next_url: str | None = None
    form_token: str | None = None
    honeypot: str = ""
    phone: str | None = None  # international format, e.g. "+44 20 7946 0000"


@dataclass(frozen=True)
class Limits:
    name: int
    subject: int
    message: int
    check_deliverability: bool = False
    phone_region: str = "GB"

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            name=settings.max_name_length,
            subject=settings.max_subject_length,
            message=settings.max_message_length,
            check_deliverability=settings.check_email_deliverability,
            phone_region=settings.phone_region,
        )


def clean_text(value: str, *, multiline: bool) -> str:
    """NFC-normalise and drop control characters (keeping line breaks and tabs in long text)."""
    value = unicodedata.normalize("NFC", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return _CONTROL_IN_TEXT.sub("", value).strip()
    return _CONTROL.sub("", value).strip()


def parse_submission(
    raw: Mapping[str, Sequence[str]], limits: Limits
) -> tuple[Submission | None, dict[str, str]]:
    """Validate raw fields (each a list of submitted values) into a Submission or errors."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for field in FIELDS + OPTIONAL_FIELDS:
        submitted = [item for item in raw.get(field, ()) if isinstance(item, str)]
        if len(submitted) > 1 and len(set(submitted)) > 1:
            errors[field] = "This field was sent more than once with different values."
        values[field] = submitted[0] if submitted else ""

    for field in ("name", "subject"):
        if any(char in _LINE_BREAKS for char in values[field]):
            errors.setdefault(field, "Please keep this on a single line.")

    name = clean_text(values["name"], multiline=False)
    subject = clean_text(values["subject"], multiline=False)
    message = clean_text(values["message"], multiline=True)
    _require(errors, "name", name, "Please tell us your name.", limits.name)
    _require(errors, "subject", subject, "Please give your message a subject.", limits.subject)
    _require(errors, "message", message, "Please write your question or message.", limits.message)

    email = _check_email(errors, clean_text(values["email"], multiline=False), limits)
    phone = _check_phone(errors, clean_text(values["phone"], multiline=False), limits)
    if errors:
        return None, errors
    return (
        Submission(
            name=name,
            email=email,
            subject=subject,
            message=message,
            page=clean_text(values["page"], multiline=False)[:2000] or None,
            next_url=values["next"].strip()[:2000] or None,
            form_token=values["form_token"].strip()[:500] or None,
            honeypot=values[HONEYPOT].strip(),
            phone=phone,
        ),
        {},
    )


def _require(errors: dict[str, str], field: str, value: str, missing: str, limit: int) -> None:
    if field in errors:
        return
    if not value:
        errors[field] = missing
    elif len(value) > limit:
        errors[field] = f"Please keep this under {limit:,} characters (it has {len(value):,})."


def _check_email(errors: dict[str, str], value: str, limits: Limits) -> str:
    if "email" in errors:
        return ""
    if not value:
        errors["email"] = "Please give your e-mail address so that we can answer you."
        return ""
    if len(value) > 320:
        errors["email"] = "This e-mail address is too long to be valid."
        return ""
    try:
        checked = validate_email(value, check_deliverability=limits.check_deliverability)
    except EmailNotValidError as exc:
        errors["email"] = f"This e-mail address does not look right: {exc}"
        return ""
    return f"{checked.local_part}@{checked.domain}".lower()


def _check_phone(errors: dict[str, str], value: str, limits: Limits) -> str | None:
    """An optional phone number, read as libphonenumber does (a local number in the hospital's
    region, or +country); stored in the international format."""
    if not value or "phone" in errors:
        return None
    problem = "This phone number does not look right: please check it, or leave the field empty."
    if len(value) > MAX_PHONE:
        errors["phone"] = problem
        return None
    try:
        number = phonenumbers.parse(value, limits.phone_region or None)
    except phonenumbers.NumberParseException:
        errors["phone"] = problem
        return None
    if not phonenumbers.is_possible_number(number):
        errors["phone"] = problem
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
