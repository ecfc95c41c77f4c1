"""Configuration classes, read from the environment when the app is created.

`APP_ENV` chooses the class (`development`, the default, or `production`);
`config_for_env()` is what `create_app()` uses when no class is given.
Nothing here touches the database or reads files at import time.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# A SECRET_KEY shorter than this is refused in production: it could be guessed.
MIN_SECRET_KEY_LENGTH = 32
# Room for the rest of an import's multipart form around the file itself.
IMPORT_FORM_MARGIN = 64 * 1024
KNOWN_PLACEHOLDER_KEYS = {"", "change-me", "changeme", "secret", "dev", "development"}


def database_url(url: str | None) -> str:
    """Return a SQLAlchemy URL, defaulting to a SQLite file under instance/.

    Plain `postgres://` and `postgresql://` URLs (as hosting platforms hand
    them out) are pointed at the psycopg 3 driver we install.
    """
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'kontaktvagar.sqlite'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _non_negative_int(env, name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise RuntimeError(f"{name}={raw!r} must be a whole number, 0 or more.")
    return value


def _true_or_false(env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("true", "false"):
        raise RuntimeError(f"{name}={env.get(name)!r} must be 'true' or 'false'.")
    return raw == "true"


def check_rate_limit_storage(storage_uri: str, workers: int) -> None:
    """Refuse in-memory limits shared by nobody: each worker would count alone.

    With 4 workers and `memory://`, 5 allowed wrong passwords become 20.
    Called by the production config (WEB_CONCURRENCY) and by gunicorn.conf.py
    (the --workers actually used).
    """
    if workers > 1 and (storage_uri or "memory://").startswith("memory://"):
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI is {storage_uri or 'memory://'!r} with {workers} workers: "
            "each worker would count sign-in attempts on its own. Set "
            "RATELIMIT_STORAGE_URI=redis://... (shared by every worker) or run one worker."
        )


class Config:
    """Settings shared by every environment."""

    APP_ENV = "base"

    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY", "")
        self.SQLALCHEMY_DATABASE_URI = database_url(env.get("DATABASE_URL"))
        self.DEFAULT_REGION = env.get("DEFAULT_REGION", "SE")
        self.TIMEZONE = env.get("TIMEZONE", "Europe/Stockholm")
        self.BABEL_DEFAULT_LOCALE = env.get("DEFAULT_LOCALE", "sv")
        self.BABEL_DEFAULT_TIMEZONE = self.TIMEZONE
        self.LANGUAGES = ("sv", "en")
        self.SESSION_IDLE_MINUTES = int(env.get("SESSION_IDLE_MINUTES", "480"))
        self.PERMANENT_SESSION_LIFETIME = timedelta(minutes=self.SESSION_IDLE_MINUTES)
        # "Remember this device" at sign-in keeps it this many days (0: not offered).
        self.REMEMBER_DEVICE_DAYS = int(env.get("REMEMBER_DEVICE_DAYS", "30"))
        # Duty roles per page of the on-call board (a wall screen's worth; a
        # region of 2 000 actors has some 3 000 duty roles).
        self.ONCALL_PAGE_SIZE = max(1, int(env.get("ONCALL_PAGE_SIZE", "50")))
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        # The largest vCard/CSV file accepted for import.
        self.IMPORT_MAX_BYTES = int(env.get("IMPORT_MAX_BYTES", "2000000"))
        # A Redis that is down or unreachable must not hold a request up.
        if self.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://")):
            self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
        # Keys of every limit start with this, so several apps can share a Redis.
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX", "kontaktvagar")
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host
        # (1 behind one TLS proxy). 0 trusts none: the client address is the
        # connection's, and a forged X-Forwarded-For is ignored.
        self.TRUSTED_PROXY_HOPS = _non_negative_int(env, "TRUSTED_PROXY_HOPS", 0)
        # Sign-in and API limits (see README, Production).
        self.LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS = env.get(
            "LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS", "5 per 15 minutes")
        self.LOGIN_LIMIT_PER_ADDRESS = env.get("LOGIN_LIMIT_PER_ADDRESS", "50 per 15 minutes")
        self.LOGIN_LIMIT_PER_KNOWN_DEVICE = env.get(
            "LOGIN_LIMIT_PER_KNOWN_DEVICE", "10 per 15 minutes")
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT", "600 per minute")
        self.FEED_RATE_LIMIT = env.get("FEED_RATE_LIMIT", "30 per minute")
        self.KNOWN_DEVICE_DAYS = int(env.get("KNOWN_DEVICE_DAYS", "180"))
        # Bodies larger than this are refused (413) before they are read; the
        # largest legitimate one is an import file plus its form, so the limit
        # stays above IMPORT_MAX_BYTES (by default 4 MiB, or the file + 1 MiB).
        default_body = max(4 * 1024 * 1024, self.IMPORT_MAX_BYTES + 1024 * 1024)
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", str(default_body)))
        # A phone's first sync asks for every card of its book in one multiget
        # REPORT (vdirsyncer does): about 75 bytes a card, 7.5 MB for 100 000
        # cards. Such reports (read-only; after sign-in) may be this large.
        self.CARDDAV_MAX_REPORT_BYTES = max(
            self.MAX_CONTENT_LENGTH,
            int(env.get("CARDDAV_MAX_REPORT_BYTES", str(32 * 1024 * 1024))))
        # A whole book is answered to a phone in pages of this many cards,
        # streamed, so the worker's memory does not grow with the book.
        self.CARDDAV_PAGE_CARDS = max(1, int(env.get("CARDDAV_PAGE_CARDS", "1000")))
        if self.MAX_CONTENT_LENGTH < self.IMPORT_MAX_BYTES + IMPORT_FORM_MARGIN:
            raise RuntimeError(
                f"MAX_CONTENT_LENGTH ({self.MAX_CONTENT_LENGTH}) must exceed IMPORT_MAX_BYTES "
                f"({self.IMPORT_MAX_BYTES}) by at least {IMPORT_FORM_MARGIN} bytes, or no "
                "import file of the largest accepted size can be uploaded."
            )
        self.SENSITIVITY_MARKING = env.get(
            "SENSITIVITY_MARKING", "Skyddas – får ej spridas"
        )
        # Background jobs (binder revisions) on Redis, shared by every app server
        # and print worker (`flask --app wsgi print worker`).
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.PRINT_QUEUE = env.get("PRINT_QUEUE", "kontaktvagar-print")
        # The hot pages' cache (directory/core/pagecache.py): "memory" (each
        # process its own), a redis:// URL (shared by every app server), or "off".
        self.PAGE_CACHE = env.get("PAGE_CACHE", "memory")
        self.PAGE_CACHE_ENTRIES = max(1, int(env.get("PAGE_CACHE_ENTRIES", "500")))
        self.PAGE_CACHE_PREFIX = env.get("PAGE_CACHE_PREFIX", "kontaktvagar")
        self.PRINT_JOBS_ASYNC = _true_or_false(env, "PRINT_JOBS_ASYNC", True)
        # How long "Print a new revision" waits for a small binder before it
        # shows the job's progress page instead.
        self.PRINT_WAIT_SECONDS = float(env.get("PRINT_WAIT_SECONDS", "2"))
        # Above this many persons, a whole region's binder opened by its address
        # (GET /binder.pdf) is laid out by the print worker, not in the request.
        self.PRINT_IN_REQUEST_PERSONS = _non_negative_int(env, "PRINT_IN_REQUEST_PERSONS", 2000)
        # Outgoing mail (reminders, mode notices). Without MAIL_SERVER mails
        # are printed to the console in development and refused in production.
        self.MAIL_SERVER = env.get("MAIL_SERVER", "")
        self.MAIL_USE_TLS = _true_or_false(env, "MAIL_USE_TLS", False)
        self.MAIL_PORT = _non_negative_int(env, "MAIL_PORT", 587 if self.MAIL_USE_TLS else 25)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        self.MAIL_FROM = env.get("MAIL_FROM", "kontaktvagar@localhost")
        # Where mails link to: the address people open the app at.
        self.BASE_URL = env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock
    DEMO_ALLOWED = True
    TESTING = False
    # A limiter store that is down must not stop sign-in: Flask-Limiter
    # logs it and counts in this process's memory until the store is back.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Strict-Transport-Security max-age; 0 sends no header (dev, tests).
    HSTS_SECONDS = 0


class DevelopmentConfig(Config):
    """Local development: `make run`.

    Without SECRET_KEY a random key is made per process: sessions end when the
    server restarts, which is fine on one's own machine.
    """

    APP_ENV = "development"

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY:
            self.SECRET_KEY = secrets.token_urlsafe(32)


class ProductionConfig(Config):
    """Production: refuses to start without a real SECRET_KEY."""

    APP_ENV = "production"
    DEMO_ALLOWED = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_SECONDS = 63072000  # two years: browsers only ever use https here

    def __init__(self) -> None:
        super().__init__()
        self.HSTS_SECONDS = _non_negative_int(os.environ, "HSTS_SECONDS", self.HSTS_SECONDS)
        check_rate_limit_storage(
            self.RATELIMIT_STORAGE_URI, _non_negative_int(os.environ, "WEB_CONCURRENCY", 1)
        )
        key = self.SECRET_KEY
        if key.lower() in KNOWN_PLACEHOLDER_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))").'
            )


class TestConfig(Config):
    """The test suite: a throwaway database chosen by the fixtures.

    Tests read English messages; the Swedish default is tested on its own.
    """

    APP_ENV = "test"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.BABEL_DEFAULT_LOCALE = "en"
        self.SECRET_KEY = secrets.token_urlsafe(32)
        # Print jobs run where they are queued (RQ's synchronous mode, on the real
        # Redis), each app on a queue of its own; tests/test_print_jobs.py runs a
        # real worker on a queued job.
        self.PRINT_QUEUE = f"kontaktvagar-test-{secrets.token_hex(6)}"
        self.PRINT_JOBS_ASYNC = False
        self.PRINT_WAIT_SECONDS = 0
        # Every page served from the page cache is also rendered anew and must
        # read the same: any test that reads a page again after a change watches.
        self.PAGE_CACHE_CHECK = True
        self.SQLALCHEMY_DATABASE_URI = database_url(
            os.environ.get("TEST_DATABASE_URL") or "sqlite://"
        )


CONFIGS = {"development": DevelopmentConfig, "production": ProductionConfig}


def config_for_env() -> type[Config]:
    """The config class named by APP_ENV (development when unset)."""
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"APP_ENV={name!r} is not known; use one of {', '.join(CONFIGS)}."
        ) from None
