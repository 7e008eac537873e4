"""Sign-in throttling per account and per address (Flask-Limiter), in memory and Redis."""

import uuid

import pytest
import redis

from .factories import FACTORY_PASSWORD
from .helpers import DEMO_PASSWORD, Mailbox, csrf_from


def attempt(client, username, password, address="10.1.1.1"):
    env = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=env).text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=env,
    )


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes")
def test_failed_attempts_lock_the_account_from_that_address_only(app, demo):
    client = app.test_client()
    for i in range(5):
        assert attempt(client, "finance", f"wrong-{i}", address="10.0.0.1").status_code == 200
    blocked = attempt(client, "finance", DEMO_PASSWORD, address="10.0.0.1")
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.text
    # The account holder elsewhere, and other accounts, are not affected.
    assert (
        attempt(app.test_client(), "finance", DEMO_PASSWORD, address="10.0.0.2").status_code == 302
    )
    assert attempt(client, "repair", DEMO_PASSWORD, address="10.0.0.1").status_code == 302


def spray(app, username, addresses, start=0):
    """An attacker guessing one account once from each of many addresses."""
    return [
        attempt(
            app.test_client(), username, f"guess-{i}", address=f"198.51.{i // 250}.{i % 250}"
        ).status_code
        for i in range(start, start + addresses)
    ]


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes")
def test_account_wide_limit_holds_for_unknown_devices(app, demo):
    assert spray(app, "finance", 9) == [200] * 8 + [429]
    # The right password from yet another unknown browser is refused too.
    assert (
        attempt(app.test_client(), "finance", DEMO_PASSWORD, address="10.9.9.9").status_code == 429
    )


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes")
def test_attacker_from_many_addresses_cannot_lock_the_owner_out_of_their_device(app, demo):
    own_device = app.test_client()
    assert attempt(own_device, "finance", DEMO_PASSWORD, address="10.2.2.2").status_code == 302
    cookie = own_device.get_cookie("propadmin_device")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    token = csrf_from(own_device.get("/admin/").text)
    own_device.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "10.2.2.2"})

    assert 429 in spray(app, "finance", 20)
    # From their usual browser, even on a new network, the owner still gets in.
    assert attempt(own_device, "finance", DEMO_PASSWORD, address="10.3.3.3").status_code == 302


@pytest.mark.config(
    LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes",
    LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes",
)
def test_a_known_device_keeps_its_own_strict_limit(app, demo):
    device = app.test_client()
    assert attempt(device, "finance", DEMO_PASSWORD).status_code == 302
    device.post("/logout", data={"csrf_token": csrf_from(device.get("/admin/").text)})
    codes = [
        attempt(device, "finance", f"wrong-{i}", address=f"10.4.0.{i}").status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes")
def test_a_device_cookie_for_another_account_does_not_help(app, demo):
    device = app.test_client()
    assert attempt(device, "repair", DEMO_PASSWORD).status_code == 302
    device.post("/logout", data={"csrf_token": csrf_from(device.get("/admin/").text)})
    spray(app, "finance", 8)
    assert attempt(device, "finance", DEMO_PASSWORD, address="10.5.5.5").status_code == 429


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes")
def test_account_holder_is_told_once_when_the_account_is_under_attack(app, demo, smtp):
    assert 429 in spray(app, "finance", 12)
    messages = smtp.mailbox.wait(1)
    assert len(messages) == 1
    msg = messages[0]
    assert msg["To"] == "finance@example.com"
    assert msg["Subject"] == "您的物业管理系统账号正在遭受大量登录尝试"
    text = Mailbox.text(msg)
    assert "常用的设备" in text and "常用的设备" in Mailbox.html(msg)
    # Once per window, however long the attack goes on.
    spray(app, "finance", 5, start=100)
    assert len(smtp.mailbox.wait(2, timeout=0.5)) == 1


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


@pytest.mark.config(SESSION_COOKIE_SECURE=True)
def test_known_device_cookie_is_secure_on_https_deployments(app, demo):
    device = app.test_client()
    assert attempt(device, "finance", DEMO_PASSWORD).status_code == 302
    cookie = device.get_cookie("propadmin_device")
    assert cookie is not None and cookie.secure and cookie.http_only
    assert cookie.expires is not None  # outlives the browser session


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="3 per 15 minutes")
def test_a_tampered_device_cookie_is_ignored(app, demo):
    device = app.test_client()
    device.set_cookie("propadmin_device", "eyJkIjoieCIsInUiOlsxLDIsMyw0LDUsNl19.forged.sig")
    spray(app, "finance", 3)
    assert attempt(device, "finance", DEMO_PASSWORD, address="10.6.6.6").status_code == 429


@pytest.mark.config(LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS="8 per 15 minutes")
def test_a_device_stops_being_known_once_the_password_changes(app, demo, db_session):
    """A browser that signed in with a password since reset (say, a stolen one) is no
    longer exempt from the account-wide limit."""
    from sqlalchemy import select

    from models import User
    from propadmin.services.accounts import set_password

    thief = app.test_client()
    assert attempt(thief, "finance", DEMO_PASSWORD, address="10.4.4.4").status_code == 302
    with app.app_context():
        from propadmin.extensions import db

        owner = db.session.scalar(select(User).where(User.username == "finance"))
        set_password(db.session, owner, "Harbour-lights-2026", notify=False)
        db.session.commit()
    assert 429 in spray(app, "finance", 10)
    assert attempt(thief, "finance", "guess-again-1", address="10.5.5.5").status_code == 429


def test_switching_the_limiter_off_is_refused_at_start_up_not_at_the_first_sign_in(tmp_path):
    from propadmin import create_app

    with pytest.raises(RuntimeError, match="RATELIMIT_ENABLED=False is not supported"):
        create_app(
            {
                "TESTING": True,
                "RATELIMIT_ENABLED": False,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'off.db'}",
            }
        )
