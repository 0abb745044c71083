"""Languages: operators.language (an operator's own choice of language), notices.language (a notice is
published per language) and consents.notice_language (the language of the notice the person was shown)

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: Only new columns, each nullable or with a server default: the release before this one reads and
#: writes as before (its notices are English, as its default notice was).
compatible_with_previous = True


# Plain ADD / DROP COLUMN, not a batch: SQLite (3.35+) does both in place, where a batch would copy the
# notices table, which consents reference, and fail its foreign-key check.
def upgrade() -> None:
    op.add_column('operators', sa.Column('language', sa.String(length=16), nullable=True))
    op.add_column('notices', sa.Column('language', sa.String(length=16), nullable=False, server_default='en'))
    op.add_column('consents', sa.Column('notice_language', sa.String(length=16), nullable=True))
    # Consents given before this revision were given against English notices (the only kind there was).
    op.execute("UPDATE consents SET notice_language = "
               "(SELECT notices.language FROM notices WHERE notices.id = consents.notice_id)")


def downgrade() -> None:
    op.drop_column('consents', 'notice_language')
    op.drop_column('notices', 'language')
    op.drop_column('operators', 'language')
