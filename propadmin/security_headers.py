"""Security headers on every response, set here and nowhere else (Flask-Talisman), plus
``no-store`` on everything but static files and the trusted-hosts check.

The Content-Security-Policy allows scripts from our own origin only, and an inline
``<script>`` only when it carries this request's nonce (``{{ csp_nonce() }}`` in a
template; Flask-Admin's own inline scripts get it through ``csp_nonce_generator``). No
inline event handlers (``onclick=``) and no ``javascript:`` links: they are refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask.globals import request_ctx
from flask_talisman import Talisman

SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "default-src": SELF,
    "script-src": SELF,  # and this request's nonce (content_security_policy_nonce_in)
    # No style attributes or <style> blocks in our templates or Flask-Admin's; scripts
    # (Popper, select2, ECharts) style elements through the DOM, which CSP allows.
    "style-src": SELF,
    # data: for the icons Bootstrap's CSS draws (select arrows, the menu button); https:
    # because a notice may show a picture by its https address (services/notice_html.py
    # lets an editor link one). Staff write notices; residents only read them.
    "img-src": f"{SELF} data: https:",
    "font-src": SELF,
    "connect-src": SELF,
    "object-src": "'none'",
    "base-uri": SELF,
    "form-action": SELF,
    "frame-ancestors": "'none'",
}
# Nothing in PropAdmin uses these browser features; a script that got in cannot either.
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics")
}
# Loopback names are always trusted: `make run`, the test client, a probe on the host
# itself. A link built from one cannot point anywhere but the reader's own machine.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class _Talisman(Talisman):
    def _set_referrer_policy_headers(self, headers):
        # A page may ask for a stricter policy (the password-reset form: no-referrer).
        headers.setdefault("Referrer-Policy", self.referrer_policy)

    def _set_hsts_headers(self, headers):
        # Talisman also believes a bare X-Forwarded-Proto, which anyone can send. Only
        # request.is_secure counts: https here, or a proxy PROXY_FIX_X_FOR trusts said so.
        if self.strict_transport_security and request.is_secure:
            headers["Strict-Transport-Security"] = (
                f"max-age={self.strict_transport_security_max_age}"
            )


def init_app(app: Flask) -> None:
    """Call before anything else registers ``before_request``: the nonce must exist
    before an early abort renders an error page."""
    if app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = default_trusted_hosts(app.config["BASE_URL"])
    talisman = _Talisman(
        app,
        # TLS ends at the reverse proxy; PROXY_FIX_X_FOR makes request.is_secure true
        # there. Never redirect here: `make run` and the tests are plain http.
        force_https=False,
        # The factory sets SESSION_COOKIE_SECURE from BASE_URL; Talisman would force it.
        session_cookie_secure=False,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options="DENY",
        # Sent only on requests that came over https (see _set_hsts_headers).
        strict_transport_security=True,
        strict_transport_security_include_subdomains=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
    )
    app.extensions["propadmin.talisman"] = talisman
    app.before_request(_refuse_untrusted_host)
    app.after_request(_no_store)


def default_trusted_hosts(base_url: str) -> list[str]:
    host = urlsplit(base_url).hostname
    return [h for h in (host, *LOOPBACK_HOSTS) if h] if host else list(LOOPBACK_HOSTS)


def csp_nonce() -> str:
    """This request's script nonce (Talisman's ``csp_nonce()`` template global)."""
    return current_app.jinja_env.globals["csp_nonce"]()


def _refuse_untrusted_host():
    """A Host not in TRUSTED_HOSTS fails before routing (Flask leaves the request without
    a URL adapter). Answer 400 at once, before other hooks see a request without an
    endpoint, with an adapter for the error page's links (they are relative)."""
    if request_ctx.url_adapter is None and request.routing_exception is not None:
        request_ctx.url_adapter = current_app.url_map.bind(
            urlsplit(current_app.config["BASE_URL"]).netloc or "localhost"
        )
        raise request.routing_exception


def _no_store(response):
    """Every page can carry personal data (the sign-in form included, once filled in):
    nothing but the static files may be kept by a browser or a proxy."""
    endpoint = request.endpoint or ""
    if endpoint != "static" and not endpoint.endswith(".static"):
        response.cache_control.no_store = True
    return response
