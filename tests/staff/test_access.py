"""Every page except the public ones needs a signed-in user: walk every route of the app."""

from __future__ import annotations

from tests.staff.routes import is_public, walk

KNOWN_PROTECTED = {
    ("GET", "/account/password"),
    ("GET", "/admin/staff"),
    ("GET", "/admin/audit"),
    ("POST", "/logout"),
    ("POST", "/admin/staff"),
}


def refused_or_sent_to_login(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code in (302, 303, 307) and response.headers.get(
        "location", ""
    ).startswith("/login")


def test_every_route_refuses_signed_out_visitors(client):
    routes = list(walk(client.app))
    assert {(method, path) for method, path, _ in routes} >= KNOWN_PROTECTED

    served = []
    for method, path, url in routes:
        if is_public(path):
            continue
        assert method != "MOUNT", f"{path} is mounted but not in the public allow-list"
        for accept in ("text/html", "application/json"):
            response = client.request(method, url, headers={"accept": accept})
            if not refused_or_sent_to_login(response):
                served.append(f"{method} {url} ({accept}) -> {response.status_code}")
    assert not served, "served to a signed-out visitor:\n" + "\n".join(served)


def test_signed_out_api_style_requests_get_401_not_a_redirect(client):
    response = client.get("/admin/staff", headers={"accept": "application/json"})

    assert response.status_code == 401


def test_the_public_allow_list_is_really_public(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/contact").status_code == 200


def has_security_headers(url: str, headers) -> bool:
    """CSP without inline script, nosniff, a referrer policy; only the public form may be framed."""
    csp = headers.get("content-security-policy", "")
    if url.startswith("/contact"):
        framing = "frame-ancestors" in csp
    else:
        framing = headers.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in csp
    return (
        framing
        and "script-src 'self'" in csp
        and headers.get("x-content-type-options") == "nosniff"
        and bool(headers.get("referrer-policy"))
    )


def test_every_answer_carries_the_security_headers(client):
    urls = [(method, url) for method, _, url in walk(client.app) if method != "MOUNT"]
    urls += [("GET", "/static/inbox.css"), ("GET", "/login"), ("GET", "/no-such-page")]

    missing = [
        f"{method} {url}"
        for method, url in urls
        if not has_security_headers(url, client.request(method, url).headers)
    ]

    assert not missing, "answers without the security headers:\n" + "\n".join(missing)
