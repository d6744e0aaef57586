"""People and programs that may use the app: users (admins or members of units), and
API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_identity"),
        CheckConstraint("(oidc_issuer IS NULL) = (oidc_subject IS NULL)",
                        name="ck_users_oidc_identity_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # None for users created by single sign-on: password login refuses them until an
    # admin gives them a password (`flask users set-password`).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Who the OpenID Connect provider says this user is: its issuer and `sub` (migration
    # 0008). Never matched by email alone, which a provider may change or reassign.
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    # Admins may do everything everywhere; anyone else, what their memberships give
    # them (webapp/access.py).
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Part of the session's user id (get_id): bumping it ends every session of this user.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The IANA zone this user reads times in (migration 0013); None: the site's TIME_ZONE.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="owner")

    def set_password(self, password: str) -> None:
        """Set a new password; sessions opened with the old one end."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash,
                                                                       password)

    def end_sessions(self) -> None:
        """Invalidate every session cookie issued to this user (logout, deactivation)."""
        self.session_version = (self.session_version or 0) + 1

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version or 0}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        """Admins may do everything, in every unit (SPEC §13)."""
        return bool(self.admin)


class ApiToken(db.Model):
    """A bearer token for programs. Only its SHA-256 is stored: tokens are long and random,
    so a slow password hash would add nothing but latency to every API call."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    owner: Mapped[User] = relationship(back_populates="tokens")

    TOKEN_PREFIX = "cs_"

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, owner: User, name: str) -> tuple[ApiToken, str]:
        """Create a token row; returns it and the clear token, shown once and never stored."""
        clear = cls.TOKEN_PREFIX + secrets.token_urlsafe(32)
        return cls(owner=owner, name=name, token_hash=cls.hash(clear)), clear
