"""webhook endpoints, their delivery log, ordered outbox messages, audit stream cursors

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 12:40:00

Webhook endpoints (the signing secret sealed under the key ring) with one row per delivery
attempt; outbox messages gain an ordering key and sequence, so the messages sharing a key (a
client's events to one endpoint) are delivered one at a time, in order. The audit stream
keeps how far it has sent the log, per target.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('ordering_key', sa.String(length=80), nullable=True))
    op.add_column('outbox', sa.Column('ordering_seq', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_ordering', 'outbox', ['ordering_key', 'ordering_seq'])
    op.create_table(
        'audit_stream_cursors',
        sa.Column('target', sa.String(length=500), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('target', name=op.f('pk_audit_stream_cursors')),
    )
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('description', sa.String(length=500), server_default='', nullable=False),
        sa.Column('secret_sealed', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('failing_since', UTCDateTime(), nullable=True),
        sa.Column('disabled_at', UTCDateTime(), nullable=True),
        sa.Column('disabled_reason', sa.Text(), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('endpoint_id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), server_default='', nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], ondelete='CASCADE',
                                name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index('ix_webhook_deliveries_endpoint_at', 'webhook_deliveries',
                    ['endpoint_id', 'at'])
    op.create_index('ix_webhook_deliveries_endpoint_event', 'webhook_deliveries',
                    ['endpoint_id', 'event_id'])


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
    op.drop_table('audit_stream_cursors')
    op.drop_index('ix_outbox_ordering', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('ordering_seq')
        batch.drop_column('ordering_key')
