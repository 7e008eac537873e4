"""Defaults. The instance folder (config.py) and PROPADMIN_* environment variables override them."""

from datetime import timedelta


class DefaultConfig:
    SQLALCHEMY_DATABASE_URI = None  # filled in by the factory: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    BASE_URL = "http://127.0.0.1:5000"
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto. The client
    # address feeds the per-address sign-in limit, so set it to exactly the proxies you run.
    PROXY_FIX_X_FOR = 0
    # Host headers the app answers (Flask's own setting); any other gets a 400 page. None:
    # BASE_URL's host plus localhost and 127.0.0.1. Set PROPADMIN_TRUSTED_HOSTS to a JSON
    # list to add names or the address a load balancer probes /healthz with.
    TRUSTED_HOSTS = None

    # Sessions: the cookie flags are tightened further for https deployments in the factory.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "propadmin_session"
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # The cookie is written when the session changes (sessions.py moves the idle stamp at
    # most every 30 s), not signed and compressed again for every page.
    SESSION_REFRESH_EACH_REQUEST = False

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 — a hash method name
    PASSWORD_MIN_LENGTH = 10
    PASSWORD_RESET_MAX_AGE = 3600  # seconds
    # One-time codes the office hands over (and links it mails) to set a password.
    ACTIVATION_CODE_MAX_AGE = timedelta(hours=72)
    # Guesses at a code, per client address (codes name no account to key on).
    ACCESS_CODE_LIMIT_PER_ADDRESS = "10 per 15 minutes"

    # Flask-Limiter: storage from PROPADMIN_RATELIMIT_STORAGE_URI (redis://... in production).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_ADDRESS = "30 per 5 minutes"
    # Sign-in attempts (and current-password checks) per account and client address;
    # from a known device of the account, per account and device instead.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    # Per account from anywhere, for browsers that are not a known device of it: loose,
    # so that an attacker cannot lock the owner out; the owner is told by mail.
    LOGIN_LIMIT_PER_ACCOUNT_ANY_ADDRESS = "50 per 15 minutes"
    # How long a browser stays a known device after signing in there.
    KNOWN_DEVICE_MAX_AGE = timedelta(days=365)
    FORGOT_PASSWORD_LIMIT = "5 per 15 minutes"  # noqa: S105 — a rate limit
    # Register searches by a full mobile or ID-card number, per account (each is a reveal).
    NUMBER_SEARCH_LIMIT = "30 per hour"

    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_DEFAULT_SENDER = "PropAdmin <noreply@propadmin.local>"
    MAIL_TIMEOUT = 10
    # "thread": deliver in a background thread right after commit; "inline": in the
    # committing thread (tests, CLI); "off": leave it to `flask mail send` / cron.
    MAIL_DISPATCH = "thread"
    MAIL_MAX_ATTEMPTS = 12
    MAIL_RETRY_BASE_SECONDS = 60
    MAIL_RETRY_MAX_SECONDS = 6 * 3600

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

    # Uploads (the register sheet): larger requests get a 413 page before anything is read.
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024

    FLASK_ADMIN_SWATCH = "default"
    FLASK_ADMIN_FLUID_LAYOUT = True

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, which already times out
