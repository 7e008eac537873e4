"""Masks, ID-card validation, blind indexes and authenticated encryption."""

import pytest
from cryptography.fernet import Fernet

from propadmin.crypto import FieldCrypto, TamperedValue, mask_id_number, mask_mobile
from propadmin.services.identifiers import id_check_digit, id_number_problem, normalize_mobile


def test_masks_match_what_the_office_expects():
    assert mask_id_number("110105199003071234") == "110***********1234"
    assert mask_mobile("13812341234") == "138****1234"
    assert mask_mobile("") == ""


def test_id_number_validation():
    body = "11010519900307123"
    valid = body + id_check_digit(body)
    assert id_number_problem(valid) is None
    wrong_digit = body + ("0" if valid[-1] != "0" else "1")
    assert id_number_problem(wrong_digit) == "check_digit"
    assert id_number_problem("1101051990030712") == "length"
    bad_date = "110105199013071230"
    assert id_number_problem(bad_date[:17] + id_check_digit(bad_date[:17])) == "birth_date"


def test_mobile_normalization():
    assert normalize_mobile("+86 138-1234-1234") == "13812341234"


def test_tampered_ciphertext_is_refused_and_keys_rotate():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = FieldCrypto([old], "k")
    token = before.encrypt("110105199003071234")
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(TamperedValue):
        before.decrypt(flipped)
    after = FieldCrypto([new, old], "k")
    assert after.decrypt(token) == "110105199003071234"
    rotated = after.rotate(token)
    with pytest.raises(TamperedValue):
        before.decrypt(rotated)
    assert FieldCrypto([new], "k").decrypt(rotated) == "110105199003071234"


def test_blind_index_is_keyed_and_separates_kinds():
    a, b = (
        FieldCrypto([Fernet.generate_key().decode()], "key-a"),
        FieldCrypto([Fernet.generate_key().decode()], "key-b"),
    )
    assert a.blind_index("mobile", "13812341234") == a.blind_index("mobile", "13812341234")
    assert a.blind_index("mobile", "13812341234") != b.blind_index("mobile", "13812341234")
    assert a.blind_index("mobile", "1") != a.blind_index("id_number", "1")
