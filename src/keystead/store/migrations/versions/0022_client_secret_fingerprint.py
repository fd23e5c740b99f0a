"""client secrets keep a short fingerprint, to tell which secret an application holds

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 21:30:00

``client_secrets.fingerprint`` is the first 8 hex characters of the SHA-256 of the secret
(``domain/secrets.py``): 32 bits, enough to tell secrets apart, too few to help guess a 256-bit
one. The stored digest is keyed, so it cannot be derived afterwards: secrets made before this
revision keep NULL (shown as "—") until they are rotated.
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
