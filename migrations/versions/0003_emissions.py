"""emissions

`data_entries.emission` (how an entry's kg_co2eq was found, or why it is missing), the
airports the plane rule measures distances between, and one stored summary per module so
pages read a module's figures without scanning its entries.

The airports table is filled lazily by the recalculation (`webapp.emissions.airports`),
not here: a migration that copied the package's data would pin the airports to the
version installed on the day it ran, while the lazy fill follows every upgrade of the
pinned package (it compares the version stored beside the rows).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # {method, factor_id, distance_km, missing_reason}; NULL until the first recalculation.
    op.add_column('data_entries', sa.Column(
        'emission', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    # No index on kg_co2eq or emission (not even a partial one for the "missing" filter):
    # a recalculation changes both on every row, and an index on either would stop
    # PostgreSQL from updating rows in place (HOT), costing an entry in every index per row.
    op.create_table('airports',
    sa.Column('iata', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),  # "airportsdata <version>"
    sa.PrimaryKeyConstraint('iata')
    )
    op.create_table('module_emission_summaries',
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('total_kg_co2eq', sa.Float(), server_default='0', nullable=False),
    sa.Column('entries', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('entries_with_emissions', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('by_entry_type', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('missing', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('missing_reasons', sa.Integer(), server_default='0', nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('recalculated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['modules.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('module_id')
    )


def downgrade():
    op.drop_table('module_emission_summaries')
    op.drop_table('airports')
    op.drop_column('data_entries', 'emission')
