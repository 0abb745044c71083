"""Consent that means what it says, and minors: notices.material_sha256 and retention_days,
residents.birth_date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

"""
import hashlib
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A frozen copy of gate.store.notices.material_sha256 as of this revision: a migration must give the
# same result whatever the application code becomes later.
_MATERIAL_FIELDS = ("processor", "purpose", "retention", "recipients")


def _material_sha256(text: str) -> str:
    fields = json.loads(text)
    canonical = {key: " ".join(str(fields.get(key, "")).split()) for key in _MATERIAL_FIELDS}
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def upgrade() -> None:
    op.add_column('residents', sa.Column('birth_date', sa.Date(), nullable=True))
    op.add_column('notices', sa.Column('material_sha256', sa.String(length=64), nullable=True))
    op.add_column('notices', sa.Column('retention_days', sa.Integer(), nullable=True))
    # Old notices keep their text; only the hash is added, so consents given against them can be
    # compared with a new version. Their retention_days stays NULL: the text was written by hand.
    notices = sa.table('notices', sa.column('id', sa.Integer()), sa.column('text', sa.Text()),
                       sa.column('material_sha256', sa.String()))
    bind = op.get_bind()
    for notice_id, text in bind.execute(sa.select(notices.c.id, notices.c.text)).all():
        bind.execute(notices.update().where(notices.c.id == notice_id)
                     .values(material_sha256=_material_sha256(text)))


def downgrade() -> None:
    with op.batch_alter_table('notices') as batch:
        batch.drop_column('retention_days')
        batch.drop_column('material_sha256')
    with op.batch_alter_table('residents') as batch:
        batch.drop_column('birth_date')
