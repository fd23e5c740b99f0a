"""client secrets name the server key ring entry their digest is keyed with

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:30:00

``client_secrets.key_id`` is the id of the ring key that made the digest; NULL, as every existing
row has, names the former single ``KEYSTEAD_SECRET_KEY``, so no row needs rewriting.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Digests made under a ring key other than the former single key cannot be checked by a
    # server without the ring: run the downgrade only while KEYSTEAD_SECRET_KEY alone is set.
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.drop_column('key_id')
