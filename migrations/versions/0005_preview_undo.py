"""preview and undo

replaced_entries / replaced_factors keep what a completed load replaced, so an undo can
put it back (SPEC §11); purged after UNDO_KEEP_DAYS. The one-active-job index leaves
previews out: a preview writes nothing, so it never keeps a load off its slice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'processing')"


def upgrade():
    # No foreign keys to jobs or modules: these are copies of rows as they were, kept
    # apart from the live tables; the purge removes them by age.
    op.create_table('replaced_entries',
    sa.Column('replaced_by', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('inventory_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('entry_type', sa.String(length=50), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('kg_co2eq', sa.Float(), nullable=True),
    sa.Column('emission', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kept_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    # BRIN: rows arrive in job order, and a BRIN index costs a load next to nothing.
    op.create_index('idx_replaced_entries_job', 'replaced_entries', ['replaced_by'],
                    postgresql_using='brin')
    op.create_table('replaced_factors',
    sa.Column('replaced_by', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    # true: the load inserted this factor (undo removes it); false: the load changed it
    # and the columns below are its previous values.
    sa.Column('inserted', sa.Boolean(), nullable=False),
    sa.Column('values', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kept_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    op.create_index('idx_replaced_factors_job', 'replaced_factors', ['replaced_by'])
    op.drop_index('uq_jobs_one_active', table_name='data_ingestion_jobs')
    op.create_index('uq_jobs_one_active', 'data_ingestion_jobs',
                    ['module_id', 'target_type', sa.text('COALESCE(factor_type_id, 0)')],
                    unique=True,
                    postgresql_where=sa.text(f"{ACTIVE} AND (metadata->>'dry_run') IS NULL"))


def downgrade():
    op.drop_index('uq_jobs_one_active', table_name='data_ingestion_jobs')
    op.create_index('uq_jobs_one_active', 'data_ingestion_jobs',
                    ['module_id', 'target_type', sa.text('COALESCE(factor_type_id, 0)')],
                    unique=True, postgresql_where=sa.text(ACTIVE))
    op.drop_table('replaced_factors')
    op.drop_table('replaced_entries')
