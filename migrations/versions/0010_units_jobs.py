"""units jobs

A units import or directory sync is a job of target `units` (SPEC §13): it belongs to
no module, inventory or year, so `inventory_id` and `year` become nullable (module_id
already is). The one-active-job index counts a job without a module as module 0, so at
most one units job is active at a time, settled by the database as for any slice.
`replaced_units` keeps each unit as it was before an import changed it, for undo.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'processing') AND (metadata->>'dry_run') IS NULL"


def _one_active_index(module: sa.TextClause | str) -> None:
    op.drop_index('uq_jobs_one_active', table_name='data_ingestion_jobs')
    op.create_index('uq_jobs_one_active', 'data_ingestion_jobs',
                    [module, 'target_type', sa.text('COALESCE(factor_type_id, 0)')],
                    unique=True, postgresql_where=sa.text(ACTIVE))


def upgrade():
    op.alter_column('data_ingestion_jobs', 'inventory_id', existing_type=sa.Integer(),
                    nullable=True)
    op.alter_column('data_ingestion_jobs', 'year', existing_type=sa.Integer(),
                    nullable=True)
    _one_active_index(sa.text('COALESCE(module_id, 0)'))
    # No foreign keys, like replaced_entries: copies of rows as they were, purged by age.
    op.create_table('replaced_units',
    sa.Column('replaced_by', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    # true: the import created this unit (undo removes it if nothing refers to it);
    # false: the import changed it and the columns below are its previous values.
    sa.Column('inserted', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kept_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.PrimaryKeyConstraint('replaced_by', 'unit_id'),
    )


def downgrade():
    op.drop_table('replaced_units')
    # Units jobs have no inventory or year: they cannot stay once the columns are
    # required again.
    op.execute("DELETE FROM data_ingestion_jobs WHERE target_type = 'units'")
    _one_active_index('module_id')
    op.alter_column('data_ingestion_jobs', 'year', existing_type=sa.Integer(),
                    nullable=False)
    op.alter_column('data_ingestion_jobs', 'inventory_id', existing_type=sa.Integer(),
                    nullable=False)
