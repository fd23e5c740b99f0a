"""access review campaigns and their items

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 08:00:00

Campaigns and one item per client under review, with its decision. Starts empty. Items keep the
client's id and name without a foreign key: the report outlives a retired (deleted) client.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_campaigns',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organization_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=False),
        sa.Column('selection', sa.JSON(), nullable=False),
        sa.Column('fallback_reviewer_id', sa.String(length=36), nullable=False),
        sa.Column('owner', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('closed_reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_review_campaigns_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_campaigns')),
    )
    op.create_index(op.f('ix_review_campaigns_created_at'), 'review_campaigns', ['created_at'],
                    unique=False)
    op.create_table(
        'review_items',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('campaign_id', sa.String(length=36), nullable=False),
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('client_name', sa.String(length=128), nullable=False),
        sa.Column('reviewer_id', sa.String(length=36), nullable=False),
        sa.Column('reviewer_name', sa.String(length=128), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('decided_by', sa.JSON(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('removed', sa.JSON(), nullable=False),
        sa.Column('reminded_at', UTCDateTime(), nullable=True),
        sa.Column('escalated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['review_campaigns.id'],
                                name=op.f('fk_review_items_campaign_id_review_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    )
    op.create_index(op.f('ix_review_items_campaign_id'), 'review_items', ['campaign_id'],
                    unique=False)
    op.create_index(op.f('ix_review_items_client_id'), 'review_items', ['client_id'],
                    unique=False)
    op.create_index(op.f('ix_review_items_reviewer_id'), 'review_items', ['reviewer_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_review_items_reviewer_id'), table_name='review_items')
    op.drop_index(op.f('ix_review_items_client_id'), table_name='review_items')
    op.drop_index(op.f('ix_review_items_campaign_id'), table_name='review_items')
    op.drop_table('review_items')
    op.drop_index(op.f('ix_review_campaigns_created_at'), table_name='review_campaigns')
    op.drop_table('review_campaigns')
