"""the transactional outbox, users' notices and deletion requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 07:30:00

Three new tables, nothing existing changes. ``outbox`` holds messages queued in the transaction
of the change that causes them until a sender delivers them; ``notices`` is each user's console
inbox; ``deletion_requests`` records deletions waiting for (or given) a second admin's approval.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_until', UTCDateTime(), nullable=True),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index('ix_outbox_due', 'outbox', ['sent_at', 'next_attempt_at'], unique=False)
    op.create_table(
        'notices',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('recipient_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=320), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    op.create_index('ix_notices_recipient_created', 'notices', ['recipient_id', 'created_at'],
                    unique=False)
    op.create_table(
        'deletion_requests',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('client_name', sa.String(length=320), nullable=False),
        sa.Column('requested_by', sa.JSON(), nullable=False),
        sa.Column('requested_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.JSON(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_requests')),
    )
    op.create_index(op.f('ix_deletion_requests_client_id'), 'deletion_requests', ['client_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deletion_requests_client_id'), table_name='deletion_requests')
    op.drop_table('deletion_requests')
    op.drop_index('ix_notices_recipient_created', table_name='notices')
    op.drop_table('notices')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
