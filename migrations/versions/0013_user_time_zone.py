"""a user's own time zone

Pages show times in the viewer's IANA zone when they chose one, else in the site's
TIME_ZONE (SPEC §15). NULL: the site's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column('users', 'time_zone')
