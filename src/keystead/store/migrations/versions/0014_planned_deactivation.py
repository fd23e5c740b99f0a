"""planned deactivation of clients

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:00:00

One plan per client at most; on PostgreSQL a change to a plan notifies the workers that keep
the client's record (0011), since token responses carry the plan's Deprecation and Sunset dates.
"""

from alembic import op
import sqlalchemy as sa

from keystead.store.types import UTCDateTime


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'deactivation_plans',
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('date', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('replacement_id', sa.String(length=36), nullable=True),
        sa.Column('planned_at', UTCDateTime(), nullable=False),
        sa.Column('planned_by', sa.JSON(), nullable=False),
        sa.Column('reminded_at', UTCDateTime(), nullable=True),
        sa.Column('disabled_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ondelete='CASCADE',
                                name=op.f('fk_deactivation_plans_client_id_clients')),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_deactivation_plans')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE TRIGGER keystead_notify_deactivation_plans AFTER INSERT OR UPDATE "
                   "OR DELETE ON deactivation_plans FOR EACH ROW EXECUTE FUNCTION "
                   "keystead_notify_row('c', 'client_id')")
        op.execute("CREATE TRIGGER keystead_notify_deactivation_plans_truncate AFTER TRUNCATE "
                   "ON deactivation_plans FOR EACH STATEMENT EXECUTE FUNCTION "
                   "keystead_notify_all()")


def downgrade() -> None:
    op.drop_table('deactivation_plans')  # its triggers go with it
