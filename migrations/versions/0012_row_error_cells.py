"""row errors name their cell

A spreadsheet upload's row error names the cell it is in (`Travel!C17`, SPEC §15);
CSV files and API sources leave it empty.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('ingestion_row_errors', sa.Column('cell', sa.String(length=100),
                                                    nullable=True))


def downgrade():
    op.drop_column('ingestion_row_errors', 'cell')
