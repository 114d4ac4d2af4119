"""Response headers that protect patient data."""


def test_staff_pages_are_never_cached_but_static_files_may_be(client):
    assert client.get("/login").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/inbox.css").headers.get("cache-control", "")
