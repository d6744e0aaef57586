"""admins instead of global roles

Migration 0007 made every viewer and editor a member of the root units with their
role; what a user may do in a unit now comes from memberships alone. The global role
keeps one meaning, being an admin, which becomes a flag.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('admin', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.execute("UPDATE users SET admin = (role = 'admin')")
    op.drop_column('users', 'role')


def downgrade():
    # The highest role a user holds anywhere becomes their global role again.
    op.add_column('users', sa.Column('role', sa.String(length=20), nullable=False,
                                     server_default='viewer'))
    op.execute("""
        UPDATE users SET role = CASE
            WHEN admin THEN 'admin'
            WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id
                         AND m.role IN ('editor', 'manager')) THEN 'editor'
            ELSE 'viewer' END""")
    op.drop_column('users', 'admin')
