"""evidence of use per client per day

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:00:00

One row per client, UTC day, kind (grant, failure, scope, permission, network) and item, with a
count. Starts empty: evidence is recorded from the upgrade on.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'client_evidence',
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('item', sa.String(length=200), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('client_id', 'day', 'kind', 'item',
                                name=op.f('pk_client_evidence')),
    )


def downgrade() -> None:
    op.drop_table('client_evidence')
