"""alerts: one open alert per rule, client and subject, and the audit cursor of evaluations

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 12:45:00

Alerts are deleted with their client (an organisation-wide one has none); resolved ones are
purged after the notice retention period. ``alert_cursors`` holds, per organisation, the last
audit entry the evaluations have read.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alerts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=True),
        sa.Column('subject', sa.String(length=256), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('summary', sa.String(length=512), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('first_seen', UTCDateTime(), nullable=False),
        sa.Column('last_seen', UTCDateTime(), nullable=False),
        sa.Column('firing', sa.Boolean(), nullable=False),
        sa.Column('signature', sa.String(length=512), nullable=False),
        sa.Column('acknowledged_by', sa.JSON(), nullable=True),
        sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_by', sa.JSON(), nullable=True),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'],
                                name=op.f('fk_alerts_client_id_clients'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_alerts_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    )
    op.create_index('ix_alerts_client_id', 'alerts', ['client_id'], unique=False)
    op.create_index('ix_alerts_state', 'alerts', ['state'], unique=False)
    op.create_table(
        'alert_cursors',
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('audit_seq', sa.BigInteger(), nullable=False),
        sa.Column('evaluated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_alert_cursors_organization_id_organizations')),
        sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_alert_cursors')),
    )


def downgrade() -> None:
    op.drop_table('alert_cursors')
    op.drop_index('ix_alerts_state', table_name='alerts')
    op.drop_index('ix_alerts_client_id', table_name='alerts')
    op.drop_table('alerts')
