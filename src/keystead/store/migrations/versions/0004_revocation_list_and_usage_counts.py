"""a revocation list and per-day usage counts instead of a row per issued token

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:20:00

Issued tokens were recorded one row each; now only revoked ones are (``revoked_tokens``), and the
usage summary reads per-client daily counts (``client_usage``). The upgrade keeps the revoked
rows and turns the recorded ones into counts; the downgrade cannot bring back rows never kept.
"""

from alembic import op
import sqlalchemy as sa
import keystead.store.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _day(column: str) -> str:
    # Both stores keep naive UTC: the date part is the UTC day.
    return f"date({column})" if op.get_bind().dialect.name == "sqlite" else f"CAST({column} AS DATE)"


def upgrade() -> None:
    op.create_table('revoked_tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('issued_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_revoked_tokens')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('revoked_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoked_tokens_expires_at'), ['expires_at'], unique=False)

    op.create_table('client_usage',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tokens_issued', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'day', name=op.f('pk_client_usage'))
    )
    op.execute(
        "INSERT INTO revoked_tokens (digest, client_id, subject_id, scope, issued_at, expires_at, "
        "revoked_at) SELECT digest, client_id, subject_id, scope, issued_at, expires_at, "
        "revoked_at FROM tokens WHERE revoked_at IS NOT NULL")
    op.execute(
        f"INSERT INTO client_usage (client_id, day, tokens_issued) SELECT client_id, "
        f"{_day('issued_at')}, count(*) FROM tokens GROUP BY client_id, {_day('issued_at')}")

    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_expires_at'))
        batch_op.drop_index('ix_tokens_client_issued')
    op.drop_table('tokens')


def downgrade() -> None:
    op.create_table('tokens',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('subject_id', sa.String(length=36), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('issued_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', keystead.store.types.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', keystead.store.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_tokens')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index('ix_tokens_client_issued', ['client_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_expires_at'), ['expires_at'], unique=False)
    op.execute(
        "INSERT INTO tokens (digest, client_id, subject_id, scope, issued_at, expires_at, "
        "revoked_at) SELECT digest, client_id, subject_id, scope, issued_at, expires_at, "
        "revoked_at FROM revoked_tokens")
    op.drop_table('client_usage')
    with op.batch_alter_table('revoked_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_tokens_expires_at'))
    op.drop_table('revoked_tokens')
