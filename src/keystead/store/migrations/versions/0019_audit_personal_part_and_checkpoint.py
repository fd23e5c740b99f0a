"""audit entries: format 2 (a digest of the personal part), erasure marks, a chain checkpoint

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 12:40:00

Entries written before keep format 1 and verify as they always did (domain.audit). The head
gains the checkpoint the chain starts from once old entries are archived and removed
(store.audit_archive): sequence 0 and the genesis hash until then.
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.SmallInteger(), server_default='1',
                                      nullable=False))
        batch_op.add_column(sa.Column('personal_salt', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('personal_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('erased_by', sa.String(length=36), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint_seq', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('checkpoint_hash', sa.String(length=64),
                                      server_default='0' * 64, nullable=False))
        batch_op.add_column(sa.Column('checkpoint_erasures', sa.JSON(), server_default='{}',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('checkpoint_erasures')
        batch_op.drop_column('checkpoint_hash')
        batch_op.drop_column('checkpoint_seq')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('erased_by')
        batch_op.drop_column('personal_digest')
        batch_op.drop_column('personal_salt')
        batch_op.drop_column('format')
