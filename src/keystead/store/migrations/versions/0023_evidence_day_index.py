"""evidence is indexed by day, for the dashboard's trend and housekeeping's purge

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 21:45:00

The dashboard sums every client's evidence per day over 30 days and housekeeping deletes
evidence older than the retention: both select by day, which the primary key (client first)
does not serve.
"""

from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_client_evidence_day_kind', 'client_evidence', ['day', 'kind'])


def downgrade() -> None:
    op.drop_index('ix_client_evidence_day_kind', table_name='client_evidence')
