"""single sign-on identities

A user who logs in with OpenID Connect is known by the provider's issuer and its
subject (`sub`), never by email alone: an email can change or be reassigned at the
provider, the (issuer, subject) pair cannot. Users created by single sign-on have no
password, so `password_hash` becomes nullable (password login refuses them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('oidc_issuer', sa.String(length=500), nullable=True))
    op.add_column('users', sa.Column('oidc_subject', sa.String(length=255), nullable=True))
    op.create_unique_constraint('uq_users_oidc_identity', 'users',
                                ['oidc_issuer', 'oidc_subject'])
    # Both or neither: half an identity would match nobody and hide a bug.
    op.create_check_constraint(
        'ck_users_oidc_identity_whole', 'users',
        '(oidc_issuer IS NULL) = (oidc_subject IS NULL)')
    op.alter_column('users', 'password_hash', existing_type=sa.String(length=255),
                    nullable=True)


def downgrade():
    # Users created by single sign-on keep their rows (jobs and the audit log name them)
    # with a hash no password matches ("!" is not a werkzeug hash).
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column('users', 'password_hash', existing_type=sa.String(length=255),
                    nullable=False)
    op.drop_constraint('ck_users_oidc_identity_whole', 'users', type_='check')
    op.drop_constraint('uq_users_oidc_identity', 'users', type_='unique')
    op.drop_column('users', 'oidc_subject')
    op.drop_column('users', 'oidc_issuer')
