"""Phone numbers: what people type in, what is stored, what is shown."""

import pytest

from directory.core.numbers import PhoneNumberError, display_phone, normalise_phone, tel_uri


@pytest.mark.parametrize(
    "typed",
    ["070-174 06 10", "0701740610", "+46 70 174 06 10", "0046701740610", "70 174 06 10",
     "(070) 174 06 10"],
)
def test_common_swedish_forms_are_stored_in_e164(app, typed):
    assert normalise_phone(typed) == "+46701740610"


@pytest.mark.parametrize("typed, stored", [("112", "112"), ("114 14", "11414"),
                                           ("113 13", "11313"), ("1177", "1177")])
def test_short_numbers_are_stored_without_country_code(app, typed, stored):
    assert normalise_phone(typed) == stored
    assert tel_uri(stored) == f"tel:{stored}"


@pytest.mark.parametrize(
    "typed, reason",
    [("070-17", "too short"), ("07O-174 06 10", "only digits"), ("", "Enter a phone number"),
     ("+999 1234 5678", "country code"), ("070-174 06 10 12 34 56", "too long")],
)
def test_invalid_numbers_say_why(app, typed, reason):
    with pytest.raises(PhoneNumberError, match=reason):
        normalise_phone(typed)


def test_display_is_national_at_home_and_international_abroad(app):
    assert display_phone("+46701740610") == "070-174 06 10"
    assert display_phone("+4520123456") == "+45 20 12 34 56"
    assert display_phone("11414") == "114 14"
    assert display_phone("112") == "112"


def test_a_stored_number_is_read_as_the_parser_reads_it():
    """`display_phone` reads plain stored E.164 itself (the parser was half its time
    in a national binder); it must read exactly what `phonenumbers.parse` reads, or
    leave the number to it. Every country code, numbers of every length, and the
    prefixes the parser strips in some countries (8 in Russia, 1 in the Marshall
    Islands)."""
    import random

    import phonenumbers

    from directory.core.numbers import _stored

    pick = random.Random(2026)
    values = ["+46701740605", "+4681234567", "+390612345678", "+79161234567",
              "+784233356777", "+6921873338579", "+2616943448", "+4681234567;ext=12",
              "+46", "+0701740605", "0701740605", "+", "", "+046701740605", "+461",
              "+46" + "7" * 18, "+4612"]
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for _ in range(40):
            tail = pick.randint(0, 10 ** pick.randint(1, 11))
            values.append(f"+{code}{pick.randint(0, 9)}{tail}")
    read_fast = 0
    for value in values:
        fast = _stored(value)
        if fast is None:
            continue
        read_fast += 1
        parsed = phonenumbers.parse(value, None)
        assert fast == parsed, value
        national = phonenumbers.region_code_for_number(parsed) == "SE"
        assert display_phone(value) == phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.NATIONAL if national
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL), value
    assert _stored("+46701740605") is not None and _stored("+79161234567") is None
    for refused_by_the_parser in ("+046701740605", "+461", "+46" + "7" * 18):
        assert _stored(refused_by_the_parser) is None
        with pytest.raises(phonenumbers.NumberParseException):
            phonenumbers.parse(refused_by_the_parser, None)
    assert read_fast > len(values) * 0.7  # the common case is the fast one
