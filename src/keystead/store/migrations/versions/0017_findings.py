"""findings: what governance found per client, kind and subject

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:45:00

One row per client, kind and subject (a scope, a role id, or empty), updated by every evaluation:
active while the condition holds, resolved when it clears, archived by an admin with a reason.
Deleted with the client.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'findings',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=256), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('recommendation', sa.String(length=512), nullable=False),
        sa.Column('remedy', sa.String(length=40), nullable=True),
        sa.Column('first_seen', UTCDateTime(), nullable=False),
        sa.Column('last_seen', UTCDateTime(), nullable=False),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.Column('archived_reason', sa.String(length=512), nullable=True),
        sa.Column('archived_by', sa.JSON(), nullable=True),
        sa.Column('archived_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'],
                                name=op.f('fk_findings_client_id_clients'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_findings_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    )
    op.create_index('ix_findings_state', 'findings', ['state'], unique=False)
    op.create_index('ux_findings_client_kind_subject', 'findings',
                    ['client_id', 'kind', 'subject'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_findings_client_kind_subject', table_name='findings')
    op.drop_index('ix_findings_state', table_name='findings')
    op.drop_table('findings')
