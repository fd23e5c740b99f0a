"""grant families get an absolute deadline; codes remember the console session they came from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 15:30:00

``grant_families.expires_at``: no refresh token of the family lives past it. Families that
exist already get ``created_at`` + 90 days (the default of
KEYSTEAD_GRANT_FAMILY_MAX_LIFETIME_SECONDS). ``authorization_codes.session_digest``: a code not
yet redeemed when its console session ends is dead; codes minted before this migration have
none and live out their 60 seconds.
"""

from datetime import timedelta

from alembic import op
import sqlalchemy as sa
import keystead.store.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DEFAULT_MAX_LIFETIME = timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table('grant_families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', keystead.store.types.UTCDateTime(),
                                      nullable=True))
    families = sa.table('grant_families', sa.column('id', sa.String(36)),
                        sa.column('created_at', keystead.store.types.UTCDateTime()),
                        sa.column('expires_at', keystead.store.types.UTCDateTime()))
    bind = op.get_bind()
    # Dates are computed here, not in SQL: the two dialects disagree on date arithmetic.
    for family_id, created_at in bind.execute(sa.select(families.c.id, families.c.created_at)):
        bind.execute(families.update().where(families.c.id == family_id).values(
            expires_at=created_at + DEFAULT_MAX_LIFETIME))
    with op.batch_alter_table('grant_families', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=keystead.store.types.UTCDateTime(),
                              nullable=False)
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('session_digest')
    with op.batch_alter_table('grant_families', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
