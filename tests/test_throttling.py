"""Sign-in throttling per account and per address (Flask-Limiter), in memory and Redis."""

import uuid

import pytest
import redis

from .factories import FACTORY_PASSWORD
from .helpers import DEMO_PASSWORD, csrf_from


def attempt(client, username, password, address="10.1.1.1"):
    env = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=env).text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=env,
    )


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
def test_failed_attempts_lock_the_account_even_from_new_addresses(app, demo):
    client = app.test_client()
    for i in range(5):
        assert attempt(client, "finance", f"wrong-{i}", address=f"10.0.0.{i}").status_code == 200
    blocked = attempt(client, "finance", DEMO_PASSWORD, address="10.0.0.99")
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.text
    # Other accounts are not affected.
    assert attempt(client, "repair", DEMO_PASSWORD, address="10.0.0.98").status_code == 302


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
def test_successful_sign_ins_do_not_count_against_the_account(app, demo):
    for _ in range(8):
        client = app.test_client()
        assert attempt(client, "owner", DEMO_PASSWORD).status_code == 302


@pytest.mark.config(LOGIN_LIMIT_PER_ADDRESS="10 per 5 minutes")
def test_one_address_spraying_many_accounts_is_stopped(app, demo):
    client = app.test_client()
    answers = [
        attempt(client, f"user{i}", "guess-123", address="203.0.113.7").status_code
        for i in range(11)
    ]
    assert answers[:10] == [200] * 10
    assert answers[10] == 429
    assert (
        attempt(app.test_client(), "owner", DEMO_PASSWORD, address="203.0.113.8").status_code == 302
    )


@pytest.mark.config(FORGOT_PASSWORD_LIMIT="3 per 15 minutes")
def test_forgot_password_is_throttled(app, demo):
    client = app.test_client()
    codes = []
    for _ in range(4):
        token = csrf_from(client.get("/forgot-password").text)
        codes.append(
            client.post(
                "/forgot-password", data={"email": "owner@example.com", "csrf_token": token}
            ).status_code
        )
    assert codes == [302, 302, 302, 429]


@pytest.fixture
def redis_storage():
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is required for this test: {exc}")
    return "redis://127.0.0.1:6379"


@pytest.mark.committed  # two app instances, like two gunicorn workers
def test_throttling_works_with_redis_storage(app, make, tmp_path, redis_storage, monkeypatch):
    """Production keeps the counters in Redis, shared by every worker."""
    from propadmin import create_app

    from .conftest import _config

    monkeypatch.setenv("PROPADMIN_INSTANCE_PATH", str(tmp_path))
    prefix = f"propadmin-test-{uuid.uuid4().hex[:12]}"  # counters in Redis outlive the test
    config = _config(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path,
        RATELIMIT_STORAGE_URI=redis_storage,
        RATELIMIT_KEY_PREFIX=prefix,
        LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes",
    )
    worker_a, worker_b = create_app(config), create_app(config)
    username = make.user().username
    # Two app instances (like two gunicorn workers) share one count.
    assert attempt(worker_a.test_client(), username, "bad-1").status_code == 200
    assert attempt(worker_b.test_client(), username, "bad-2").status_code == 200
    assert attempt(worker_a.test_client(), username, "bad-3").status_code == 200
    assert attempt(worker_b.test_client(), username, FACTORY_PASSWORD).status_code == 429
    store = redis.Redis(host="127.0.0.1", port=6379)
    keys = store.keys(f"*{prefix}*")
    assert keys, "the counter is kept in Redis"
    store.delete(*keys)


@pytest.mark.committed  # twelve requests at once, each on its own connection
@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
def test_parallel_guesses_are_all_counted(app, demo):
    """Guesses sent at the same moment cannot get past the per-account limit."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [app.test_client() for _ in range(12)]
    tokens = [csrf_from(c.get("/login").text) for c in clients]

    def guess(i):
        return (
            clients[i]
            .post(
                "/login",
                data={"username": "finance", "password": f"guess-{i}", "csrf_token": tokens[i]},
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert codes.count(200) == 5 and codes.count(429) == 7


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes")
def test_user_name_and_email_share_one_counter(app, demo):
    client = app.test_client()
    attempt(client, "finance", "bad-1")
    attempt(client, "finance@example.com", "bad-2")
    attempt(client, "FINANCE", "bad-3")
    assert attempt(client, "finance@example.com", DEMO_PASSWORD).status_code == 429
