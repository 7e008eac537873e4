"""``make serve``: gunicorn with PropAdmin's settings serves the app against PostgreSQL."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

from .helpers import DEMO_PASSWORD
from .served import deployment_env, redis_available, serving


def _signed_in(base: str, username: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=10)
    return opener


def test_gunicorn_serves_the_owner_portal(pg_demo, tmp_path):
    redis_available()
    env = deployment_env(pg_demo, tmp_path / "instance")
    with serving(env, tmp_path) as (host,):
        owner = _signed_in(host.url, "owner")
        with owner.open(f"{host.url}/portal/bills", timeout=10) as response:
            page = response.read().decode()
        assert response.status == 200
        assert "我的账单" in page or "账单" in page
        assert response.url.endswith("/portal/bills")
    # The operator learns at start how many database connections this host may open:
    # 2 workers x (4 threads + 1 kept + 2 for a moment).
    assert "2 workers x 4 threads; up to 14 database connections from this host" in host.log()
