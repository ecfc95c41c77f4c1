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
