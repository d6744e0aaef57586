"""institution-wide schedules

A schedule may sync every unit's modules of a type (webapp/feeds/): it then names the
module type instead of one module.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('sync_schedules', sa.Column('module_type', sa.String(length=50),
                                              nullable=True))
    op.alter_column('sync_schedules', 'module_id', existing_type=sa.Integer(),
                    nullable=True)
    op.create_check_constraint('ck_schedules_one_target', 'sync_schedules',
                               '(module_id IS NULL) <> (module_type IS NULL)')


def downgrade():
    op.execute("DELETE FROM sync_schedules WHERE module_id IS NULL")
    op.drop_constraint('ck_schedules_one_target', 'sync_schedules', type_='check')
    op.alter_column('sync_schedules', 'module_id', existing_type=sa.Integer(),
                    nullable=False)
    op.drop_column('sync_schedules', 'module_type')
