"""a custom scope may declare the resource server its tokens are for (their audience)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:30:00

``scopes.resource_server``: an absolute URI, or NULL for the issuer (every existing scope).
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scopes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_server', sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scopes', schema=None) as batch_op:
        batch_op.drop_column('resource_server')
