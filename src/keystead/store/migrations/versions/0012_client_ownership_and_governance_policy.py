"""clients get an owner, tags and an environment; the organisation gets a governance policy

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:00:00

``clients.owner_id`` has no foreign key on purpose: when the owning user is deleted the client
keeps the id and governance reports it as orphaned. Existing clients have no owner, no tags and
no environment; the policy row is absent until an admin first saves one (the defaults apply).
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('environment', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_clients_owner_id', ['owner_id'], unique=False)
    op.create_table(
        'governance_policies',
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('date_modified', UTCDateTime(), nullable=False),
        sa.Column('modified_by', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_governance_policies_organization_id_organizations')),
        sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_governance_policies')),
    )


def downgrade() -> None:
    op.drop_table('governance_policies')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_owner_id')
        batch_op.drop_column('environment')
        batch_op.drop_column('tags')
        batch_op.drop_column('owner_id')
