"""Security headers on every response (propadmin/security_headers.py): every URL rule of
the app as the estate's admin, as an owner and signed out, static files, /healthz and the
error pages carry the Content-Security-Policy (scripts from our origin or with the
request's nonce, never 'unsafe-inline'), frame-ancestors 'none', nosniff and a
Referrer-Policy; pages are never stored, static files keep their caching; HSTS only
over https; a Host the app does not serve gets the 400 page; errors show no trace."""

from __future__ import annotations

import re

import pytest

from propadmin import security_headers

from .helpers import login
from .test_access import a_record_of_each_view, all_rules

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{20,})'")
# An inline script is one without src; a JSON data block is not run.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JS_LINK = re.compile(r"""<[a-z][^>]*(href|src|action)\s*=\s*["']\s*javascript:[^>]*>""", re.I)
# Flask-Admin's do-nothing links (menu toggles, the current tab and page) keep
# href="javascript:void(0)"; static/js/admin-handlers.js cancels a click on one.


def header_problems(response, url: str) -> list[str]:
    """What is missing from the response's headers and page, as a list of sentences."""
    headers, problems = response.headers, []
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d for d in csp.split("; ") if d}
    script_src = directives.get("script-src", "")
    if not csp:
        problems.append("no Content-Security-Policy")
    if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src or "*" in script_src:
        problems.append(f"scripts not restricted: {script_src}")
    for expected in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"):
        if expected not in csp:
            problems.append(f"CSP lacks {expected}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("no X-Frame-Options DENY")
    if headers.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
        problems.append(f"Referrer-Policy {headers.get('Referrer-Policy')}")
    static = url.startswith(("/static/", "/admin/static/"))
    no_store = "no-store" in headers.get("Cache-Control", "")
    if static == no_store:
        problems.append(f"Cache-Control {headers.get('Cache-Control')!r}")
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        nonce = NONCE.search(script_src)
        for tag in INLINE_SCRIPT.findall(body):
            if not nonce or f'nonce="{nonce.group(1)}"' not in tag:
                problems.append(f"inline script without this request's nonce: {tag}")
        if EVENT_HANDLER.search(body):
            problems.append("inline event handler in the page")
        if not url.startswith("/admin") and JS_LINK.search(body):
            problems.append("javascript: link in the page")
    return [f"{url} ({response.status_code}): {p}" for p in problems]


@pytest.mark.parametrize("role", ["anonymous", "admin", "owner"])
def test_every_route_carries_the_headers(app, demo, db_session, role):
    record_ids = a_record_of_each_view(app, db_session)
    client = app.test_client()
    if role != "anonymous":
        assert login(client, role).status_code == 302
    problems, checked = [], 0
    for endpoint, method, url in all_rules(app, record_ids):
        if method != "GET" or endpoint == "auth.logout":
            continue
        response = client.get(url)
        problems += header_problems(response, url)
        response.close()
        checked += 1
    assert checked > 150
    assert not problems, "\n".join(problems)


def test_nonce_is_new_on_every_page_and_on_flask_admins_scripts(login_as):
    admin = login_as("admin")
    first, second = admin.get("/admin/unit/"), admin.get("/admin/unit/")
    nonces = [NONCE.search(r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    scripts = re.findall(r"<script\b[^>]*>", first.text)
    assert len(scripts) > 10
    # Flask-Admin's own scripts carry the nonce; ours are files from 'self'.
    assert sum(f'nonce="{nonces[0]}"' in tag for tag in scripts) >= 10


@pytest.mark.parametrize(
    ("code", "title"),
    [(400, "无法处理该请求"), (403, "您无权访问此页面"), (404, "页面不存在"), (405, None),
     (413, None), (429, None), (500, "系统出现错误")],
)  # fmt: skip
def test_error_pages_are_generic_and_carry_the_headers(app, code, title):
    """As in production (TESTING and PROPAGATE_EXCEPTIONS off): a failure inside a view
    shows the generic page, with no trace and no exception text."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def fail(code):
        if code == 500:
            raise RuntimeError("secret detail: connection to db-7.internal refused")
        from flask import abort

        abort(code)

    app.add_url_rule("/test-only/fail/<int:code>", "test_only_fail", fail)
    response = app.test_client().get(f"/test-only/fail/{code}")
    assert response.status_code == code
    body = response.text
    assert f'<p class="error-code">{code}</p>' in body
    if title:
        assert title in body
    assert "Traceback" not in body and "secret detail" not in body and "db-7" not in body
    assert not header_problems(response, "/test-only/fail")


def test_real_errors_show_the_generic_pages(app, demo, login_as):
    owner = login_as("owner")
    for url, code in (("/admin/", 403), ("/no-such-page", 404), ("/logout", 405)):
        response = owner.get(url)
        assert response.status_code == code, url
        assert f'<p class="error-code">{code}</p>' in response.text
        assert not header_problems(response, url)
    # A form posted without its CSRF token.
    refused = app.test_client().post("/login", data={"username": "owner", "password": "x"})
    assert refused.status_code == 400 and not header_problems(refused, "/login")


def test_static_files_keep_their_caching_and_the_headers(client):
    for url in ("/static/css/site.css", "/admin/static/admin/css/bootstrap4/admin.css"):
        response = client.get(url)
        response.close()
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        assert response.headers.get("ETag") or response.headers.get("Last-Modified")
        assert not header_problems(response, url)


def test_hsts_only_over_https(app):
    client = app.test_client()
    plain = client.get("/login")
    assert plain.status_code == 200  # never redirected to https: `make run` is plain http
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/login", base_url="https://estate.example.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31")


@pytest.mark.config(PROXY_FIX_X_FOR=1)
def test_hsts_behind_the_tls_proxy(app):
    """TLS ends at the proxy, which says so in X-Forwarded-Proto."""
    client = app.test_client()
    response = client.get(
        "/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    )
    assert response.status_code == 200
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_a_forged_forwarded_proto_without_a_proxy_gets_no_hsts(app):
    """Without PROXY_FIX_X_FOR nobody vouches for X-Forwarded-Proto: the request is http."""
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.config(BASE_URL="http://127.0.0.1:5000")
def test_dev_over_http_keeps_plain_cookies_and_no_hsts(app, demo):
    """`make run`: no https redirect, no HSTS, and a session cookie the browser keeps on http."""
    app.config.update(TESTING=False)
    client = app.test_client()
    signed_in = login(client, "admin")
    assert signed_in.status_code == 302 and signed_in.location == "/admin/"
    assert "Secure" not in signed_in.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in client.get("/admin/").headers


def test_trusted_hosts_default_to_base_url_and_loopback(app):
    assert app.config["TRUSTED_HOSTS"] == ["estate.example.test", "localhost", "127.0.0.1"]
    assert security_headers.default_trusted_hosts("https://estate.example.com:8443") == [
        "estate.example.com",
        "localhost",
        "127.0.0.1",
    ]


@pytest.mark.parametrize("host", ["evil.example", "estate.example.test.evil.example", "bad host!"])
def test_a_host_the_app_does_not_serve_gets_the_400_page(app, host):
    client = app.test_client()
    for url in ("/login", "/healthz", "/admin/"):
        response = client.get(url, headers={"Host": host})
        assert response.status_code == 400, (url, response.status_code)
        assert '<p class="error-code">400</p>' in response.text
        assert not header_problems(response, url)
    for served in ("estate.example.test", "127.0.0.1:5000", "localhost"):
        assert client.get("/login", headers={"Host": served}).status_code == 200, served


@pytest.mark.config(TRUSTED_HOSTS=["estate.example.test", "10.0.0.5"])
def test_trusted_hosts_setting_lets_the_balancer_probe(app):
    """PROPADMIN_TRUSTED_HOSTS names every host; the balancer's probe by address works."""
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "10.0.0.5:8000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 400
