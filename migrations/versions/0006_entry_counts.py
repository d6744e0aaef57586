"""stored entry counts

module_entry_counts holds how many entries each module has per (entry type, source), so
the module page and the catalogue API read a few rows instead of counting a module's
entries per request. The writers of data_entries (the entry sink, undo) adjust it in
their own transaction, from counts they already have. Not triggers: statement triggers
with transition tables cost about 13 % of batched COPY into data_entries and doubled a
million-row DELETE (measured 2026-12-02).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('module_entry_counts',
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('entry_type', sa.String(length=50), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('module_id', 'entry_type', 'source'),
    )
    op.execute("LOCK TABLE data_entries IN SHARE MODE")  # no load between count and commit
    op.execute("INSERT INTO module_entry_counts (module_id, entry_type, source, entries) "
               "SELECT module_id, entry_type, source, count(*) FROM data_entries "
               "GROUP BY 1, 2, 3")


def downgrade():
    op.drop_table('module_entry_counts')
