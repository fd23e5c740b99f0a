"""each client's registered token endpoint authentication method

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00

Public clients get ``none`` (they have no secret). Existing confidential clients get
``client_secret_basic``: which method each one used was never recorded, and
``client_secret_basic`` is what RFC 7591 §2 says an unregistered method means and what every
common OAuth library (and the Genesys SDK) sends. A client that sends its secret in the form body
fails with ``invalid_client``, audited with the reason "used client_secret_post, registered
client_secret_basic", until an admin sets its method to ``client_secret_post`` (README: upgrading).
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_endpoint_auth_method', sa.String(length=32),
                                      server_default='client_secret_basic', nullable=False))
    op.execute("UPDATE clients SET token_endpoint_auth_method = 'none' "
               "WHERE client_type = 'public'")


def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('token_endpoint_auth_method')
