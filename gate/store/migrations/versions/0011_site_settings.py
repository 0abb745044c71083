"""site_settings: site-wide settings in the database, with a version number gates poll

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-15

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Expand only: new tables. Rows are seeded by the first gate that opens the database (from its
    # gate.toml or the defaults), so an older gate keeps working on its file until it is upgraded.
    op.create_table(
        'site_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_by', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_site_settings')),
    )
    op.create_table(
        'site_settings_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_settings_version')),
    )
    op.execute("INSERT INTO site_settings_version (id, version) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table('site_settings_version')
    op.drop_table('site_settings')
