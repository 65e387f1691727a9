"""threads.suggestions_checked_at: when the suggest_answers job last ran for a thread, so pages
only read what it stored

Revision ID: c15a00000001
Revises: c14a00000001
Create Date: 2026-12-07 18:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15a00000001'
down_revision = 'c14a00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestions_checked_at', sa.DateTime(), nullable=True))
    # Questions asked before this release had their suggestions looked for when they were asked.
    op.execute("UPDATE threads SET suggestions_checked_at = created_at")


def downgrade():
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('suggestions_checked_at')
