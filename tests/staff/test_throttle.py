"""Login throttling per account and per IP, counted in the database."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.staff.factories import PASSWORD, csrf_token, make_staff, sign_in

WRONG = "not the password at all"


def fail(client, email: str, times: int) -> None:
    for _ in range(times):
        assert sign_in(client, email=email, password=WRONG).status_code == 401


def test_after_the_allowed_failures_even_the_right_password_waits(client, staff, settings):
    fail(client, staff.email, settings.login_attempts_per_15min)

    response = sign_in(client, email=staff.email)

    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-in attempts" in response.text
    assert "inbox_session" not in response.headers.get("set-cookie", "")


def test_the_account_can_sign_in_again_when_the_window_has_passed(client, staff, settings, clock):
    fail(client, staff.email, settings.login_attempts_per_15min)
    clock.advance(timedelta(minutes=15))

    assert sign_in(client, email=staff.email).status_code == 303


def test_successful_sign_ins_do_not_count(client, staff, settings):
    fields = {
        "email": staff.email,
        "password": PASSWORD,
        "csrf_token": csrf_token(client.get("/login").text),
    }
    for _ in range(settings.login_attempts_per_15min + 2):
        assert client.post("/login", data=fields).status_code == 303


def test_throttling_one_account_leaves_others_alone(client, runtime, staff, settings):
    other = make_staff(runtime, email="other@hospital.example")
    fail(client, staff.email, settings.login_attempts_per_15min)

    assert sign_in(client, email=other.email).status_code == 303


def test_one_ip_trying_many_accounts_is_throttled(client, runtime, staff, settings):
    limit = settings.login_attempts_per_15min
    failures = 0
    for number in range(10):  # each account stays under its own limit
        email = f"guess{number}@hospital.example"
        for _ in range(limit - 1):
            response = sign_in(client, email=email, password=WRONG)
            if response.status_code == 429:
                break
            failures += 1
        else:
            continue
        break

    assert response.status_code == 429
    assert failures == limit * 4  # the per-IP allowance
    assert sign_in(client, email=staff.email).status_code == 429


def _from(app, ip: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False, client=(ip, 40000))


def _attack(app, email: str, *, addresses: int, tries: int) -> list[int]:
    """Wrong passwords for `email` from many addresses; the status codes they got."""
    codes = []
    for number in range(addresses):
        with _from(app, f"203.0.113.{number + 1}") as attacker:
            codes += [
                sign_in(attacker, email=email, password=WRONG).status_code for _ in range(tries)
            ]
    return codes


def test_a_browser_that_signed_in_before_gets_in_while_others_guess_the_password(app, staff):
    with _from(app, "198.51.100.7") as nurse:
        assert sign_in(nurse, email=staff.email).status_code == 303
        nurse.post("/logout", data={"csrf_token": csrf_token(nurse.get("/account/password").text)})

        codes = _attack(app, staff.email, addresses=6, tries=5)

        assert 429 in codes  # the guessing is slowed down …
        assert sign_in(nurse, email=staff.email).status_code == 303  # … the nurse is not


def test_guessing_from_many_addresses_meets_a_growing_delay_not_a_lockout(
    app, staff, settings, clock
):
    limit = settings.login_attempts_per_15min
    codes = _attack(app, staff.email, addresses=limit, tries=1)
    assert codes == [401] * limit
    with _from(app, "192.0.2.50") as newcomer:
        first = sign_in(newcomer, email=staff.email, password=WRONG)
        assert first.status_code == 429
        wait = int(first.headers["retry-after"])
        assert 0 < wait < 60  # a short wait, not fifteen minutes

        clock.advance(timedelta(seconds=wait))
        assert sign_in(newcomer, email=staff.email, password=WRONG).status_code == 401
        longer = sign_in(newcomer, email=staff.email, password=WRONG)
        assert longer.status_code == 429 and int(longer.headers["retry-after"]) > wait

        clock.advance(timedelta(seconds=int(longer.headers["retry-after"])))
        assert sign_in(newcomer, email=staff.email).status_code == 303  # the right password
