"""secret delivery destinations and rotation schedules

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 08:30:00

At most one destination per client (deleted with it), with its optional rotation schedule and
the date the rotation loop next rotates it.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'secret_destinations',
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('rotate_every_days', sa.Integer(), nullable=True),
        sa.Column('dual_use_seconds', sa.Integer(), nullable=True),
        sa.Column('next_rotation_at', UTCDateTime(), nullable=True),
        sa.Column('last_delivered_at', UTCDateTime(), nullable=True),
        sa.Column('configured_at', UTCDateTime(), nullable=False),
        sa.Column('configured_by', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ondelete='CASCADE',
                                name=op.f('fk_secret_destinations_client_id_clients')),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_secret_destinations')),
    )
    op.create_index('ix_secret_destinations_next_rotation_at', 'secret_destinations',
                    ['next_rotation_at'])


def downgrade() -> None:
    op.drop_table('secret_destinations')
