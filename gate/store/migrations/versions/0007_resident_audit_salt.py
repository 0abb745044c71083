"""residents.audit_salt: card numbers reach the audit log only as a hash keyed by it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Filled on a resident's first card change; existing rows need no value until then.
    with op.batch_alter_table('residents') as batch:
        batch.add_column(sa.Column('audit_salt', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('residents') as batch:
        batch.drop_column('audit_salt')
