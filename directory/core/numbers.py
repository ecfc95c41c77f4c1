"""Phone numbers: parse what people type, store E.164, show it back nicely.

Full numbers are stored in E.164 (`+46701740605`). Emergency and service short
numbers (112, 114 14, 113 13, 1177) are stored as their digits without a
country code, because `phonenumbers` would otherwise turn them into
`+46112`, which no phone can dial; their link is `tel:112`.
"""

import re
from functools import lru_cache

import phonenumbers
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

_LETTERS = re.compile(r"[^\d\s()+\-./]")


class PhoneNumberError(ValueError):
    """A number that cannot be stored; the message says why, for the user."""


def is_short_number(value: str) -> bool:
    """True for a stored short number such as `112` or `11414`."""
    return value.isdigit()


def normalise_phone(raw: str, region: str = "SE") -> str:
    """Return the stored form of a typed number, or raise PhoneNumberError."""
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError(_l("Enter a phone number."))
    if _LETTERS.search(text):
        raise PhoneNumberError(
            _l("A phone number may contain only digits, spaces, +, - and ().")
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise PhoneNumberError(_l("The country code is not known.")) from None
        if error.error_type == NumberParseException.TOO_SHORT_NSN:
            raise PhoneNumberError(_l("The number is too short.")) from None
        raise PhoneNumberError(_l("This does not look like a phone number.")) from None
    if not text.startswith("+") and phonenumbers.is_valid_short_number_for_region(
        number, region
    ):
        return str(number.national_number)
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (ValidationResult.TOO_SHORT, ValidationResult.INVALID_LENGTH):
        raise PhoneNumberError(_l("The number is too short."))
    if reason == ValidationResult.TOO_LONG:
        raise PhoneNumberError(_l("The number is too long."))
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise PhoneNumberError(_l("The country code is not known."))
    if number.country_code == phonenumbers.country_code_for_region(region):
        raise PhoneNumberError(
            _l("This is not a valid number in %(region)s.", region=region_name(region))
        )
    raise PhoneNumberError(_l("This is not a valid phone number."))


def region_name(region: str) -> str:
    """"Sverige" / "Sweden" for "SE", in the reader's language (the code if unknown)."""
    locale = get_locale()
    return locale.territories.get(region, region) if locale is not None else region


@lru_cache(maxsize=65536)  # a pure function; a page of the board formats thousands
def display_phone(value: str, region: str = "SE") -> str:
    """National format for the default region, international otherwise."""
    if is_short_number(value):
        if len(value) == 5:
            return f"{value[:3]} {value[3:]}"
        return value
    number = _stored(value) or phonenumbers.parse(value, None)
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _stored(value: str) -> phonenumbers.PhoneNumber | None:
    """A stored E.164 number as `phonenumbers.parse` reads it, without the parse
    (half of showing a number; a binder shows 100 000 that are not yet cached).

    Only the plain case: "+", a country code `phonenumbers` knows, and a
    national number not starting with 0. Anything else (an extension, a
    leading zero kept as in Italy, text) is left to the parser.
    """
    digits = value[1:]
    if value[:1] != "+" or not digits.isdigit() or digits[0] == "0":
        return None
    for length in (1, 2, 3):  # country codes are prefix-free
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            if not 2 <= len(national) <= 17 or national[0] == "0" or not _plain_prefix(code):
                return None  # too short or long for the parser, or its to judge
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


@lru_cache(maxsize=512)
def _plain_prefix(code: int) -> bool:
    """Whether the parser strips no more than a leading 0 of this country's
    national numbers (Sweden, and most); elsewhere ("8" in Russia) it may
    strip more, so only the parser reads them."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    return metadata is not None and metadata.national_prefix_transform_rule is None and \
        metadata.national_prefix_for_parsing in (None, "0")


def tel_uri(value: str) -> str:
    """An RFC 3966 link: `tel:+46701740605`, or `tel:112` for short numbers."""
    return f"tel:{value}"
