"""Extension objects, created unbound here and bound in `create_app()`."""

import json

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every constraint gets a predictable name, so migrations can refer to it on
# both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)




def compact_json(value) -> str:
    """What JSON columns hold (binder snapshots, the audit trail), without the
    spaces and escapes of `json.dumps`' defaults: a national binder's snapshot
    is tens of MiB of mostly Swedish text, written in the print job."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


db = SQLAlchemy(model_class=Base, engine_options={"json_serializer": compact_json})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
