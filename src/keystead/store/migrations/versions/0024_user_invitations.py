"""user invitations: one-time links by e-mail to set a password and enrol two-step verification

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 21:20:00

Only the keyed digest of a link's token is stored. Rows go with their user.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_invitations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('invited_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_user_invitations_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_invitations')),
    )
    op.create_index('ux_user_invitations_digest', 'user_invitations', ['digest'], unique=True)
    op.create_index('ix_user_invitations_user_id', 'user_invitations', ['user_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_user_invitations_user_id', table_name='user_invitations')
    op.drop_index('ux_user_invitations_digest', table_name='user_invitations')
    op.drop_table('user_invitations')
