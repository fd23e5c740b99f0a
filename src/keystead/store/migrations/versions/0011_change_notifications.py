"""PostgreSQL tells every listening worker what changed, in the transaction that changed it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:45:00

Each worker keeps what the token path reads (store/hot_sql.py) and drops it when a notification
on ``keystead_changes`` names it. A trigger sends it, so a change made by any writer (the API,
the CLI, psql) is announced, and NOTIFY is transactional: it is delivered exactly when the change
commits, never for a rolled-back one. Payloads name a key, never a secret or a token digest:
``c:<client id>`` (the client, its secrets, roles and revocations), ``f:<family id>``,
``u:<user id>`` (every family of that user), ``*`` (everything: scopes, a TRUNCATE).
SQLite needs none of this (``PRAGMA data_version`` tells its workers), so this is a no-op there.
"""

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CHANNEL = 'keystead_changes'
# table -> (payload prefix, key column); None: the payload is '*'.
WATCHED = {
    'clients': ('c', 'id'),
    'client_secrets': ('c', 'client_id'),
    'client_role_divisions': ('c', 'client_id'),
    'revoked_tokens': ('c', 'client_id'),
    'grant_families': ('f', 'id'),
    'users': ('u', 'id'),
    'scopes': None,
}
# Purging revocations of expired tokens changes nothing a worker may keep: the tokens are dead.
INSERT_UPDATE_ONLY = {'revoked_tokens'}


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        CREATE FUNCTION keystead_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_ARGV[0] = '*' THEN
                PERFORM pg_notify('{CHANNEL}', '*');
            ELSE
                PERFORM pg_notify('{CHANNEL}', TG_ARGV[0] || ':' ||
                    (to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[1]));
            END IF;
            RETURN NULL;
        END $$""")
    op.execute(f"""
        CREATE FUNCTION keystead_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '*');
            RETURN NULL;
        END $$""")
    for table, key in WATCHED.items():
        events = 'INSERT OR UPDATE' if table in INSERT_UPDATE_ONLY else 'INSERT OR UPDATE OR DELETE'
        args = "'*'" if key is None else f"'{key[0]}', '{key[1]}'"
        op.execute(f"CREATE TRIGGER keystead_notify_{table} AFTER {events} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION keystead_notify_row({args})")
        op.execute(f"CREATE TRIGGER keystead_notify_{table}_truncate AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION keystead_notify_all()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS keystead_notify_{table} ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS keystead_notify_{table}_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS keystead_notify_row()")
    op.execute("DROP FUNCTION IF EXISTS keystead_notify_all()")
