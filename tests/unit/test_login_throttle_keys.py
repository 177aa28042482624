"""engine.login_throttle without a database: which network an address counts for, the refusal's words."""

import datetime as dt

import pytest

from engine.login_throttle import Refusal, address_key


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    (" 203.0.113.7 ", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 seen through an IPv6 socket
    ("2001:db8:1:2::5", "2001:db8:1:2::/64"),  # one phone's or household's /64 counts as one
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::5", "2001:db8:1:3::/64"),
    ("", "unknown"),
    (None, "unknown"),
    ("not-an-address", "unknown"),
])
def test_address_key(address, key):
    assert address_key(address) == key


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (60, 1), (61, 2), (899, 15), (900, 15)])
def test_a_refusal_says_when_to_try_again_in_whole_minutes(seconds, minutes):
    refusal = Refusal("username", dt.timedelta(seconds=seconds))
    assert refusal.minutes == minutes and f"请 {minutes} 分钟后再试" in refusal.message

