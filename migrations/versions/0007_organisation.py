"""organisation: units, memberships, inventory years

A university is a tree of units (SPEC §13). Each inventory now belongs to a unit
(`inventories.unit_id`; `unit_code` stays, the plan's column, and repeats the unit's
code), one per unit and year. Memberships give a user a role in a unit and every unit
below it. A year of inventories is closed to non-admins until opened.

Existing data: every distinct `inventories.unit_code` becomes a root unit (named after
its inventory, without the year), the existing years are open, and each existing viewer
or editor becomes a member of every root unit with that role (admins stay global).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('path', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    )
    op.create_index('idx_units_path', 'units', ['path'], postgresql_ops={'path': 'text_pattern_ops'})
    op.create_index('idx_units_parent', 'units', ['parent_id'])
    op.create_table('memberships',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=20), server_default='manual', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'editor', 'manager')", name='ck_memberships_role'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'unit_id'),
    )
    op.create_index('idx_memberships_unit', 'memberships', ['unit_id'])
    op.create_table('inventory_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('open', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('year'),
    )
    op.add_column('inventories', sa.Column('unit_id', sa.Integer(), nullable=True))
    op.create_foreign_key('inventories_unit_id_fkey', 'inventories', 'units', ['unit_id'], ['id'])
    op.execute("""
        INSERT INTO units (code, name)
        SELECT CASE WHEN unit_code = '' THEN 'UNIT' ELSE unit_code END,
               min(regexp_replace(name, '\\s*\\d{4}$', ''))
        FROM inventories GROUP BY 1""")
    op.execute("UPDATE units SET path = '/' || id || '/'")
    op.execute("""
        UPDATE inventories i SET unit_id = u.id, unit_code = u.code FROM units u
        WHERE u.code = CASE WHEN i.unit_code = '' THEN 'UNIT' ELSE i.unit_code END""")
    op.create_unique_constraint('uq_inventories_unit_year', 'inventories', ['unit_id', 'year'])
    op.execute("INSERT INTO inventory_years (year, open) "
               "SELECT DISTINCT year, true FROM inventories")
    op.execute("""
        INSERT INTO memberships (user_id, unit_id, role)
        SELECT users.id, units.id, users.role FROM users CROSS JOIN units
        WHERE users.role IN ('viewer', 'editor') AND units.parent_id IS NULL""")


def downgrade():
    op.drop_constraint('uq_inventories_unit_year', 'inventories', type_='unique')
    op.drop_constraint('inventories_unit_id_fkey', 'inventories', type_='foreignkey')
    op.drop_column('inventories', 'unit_id')
    op.drop_table('inventory_years')
    op.drop_index('idx_memberships_unit', table_name='memberships')
    op.drop_table('memberships')
    op.drop_index('idx_units_parent', table_name='units')
    op.drop_index('idx_units_path', table_name='units')
    op.drop_table('units')
