"""audit entries: the request id and the actor's divisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:30:00

Entries written before keep "" and [] and still verify: the hash chain covers the two fields
only when they are set (domain.audit.chain_hash).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('actor_divisions', sa.JSON(), server_default='[]',
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_audit_events_request_id'), ['request_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_request_id'))
        batch_op.drop_column('actor_divisions')
        batch_op.drop_column('request_id')
