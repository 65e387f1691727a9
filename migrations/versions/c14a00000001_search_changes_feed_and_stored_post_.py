"""search changes feed and stored post embeddings: the rows every node's index follower
applies, and each post's passage vectors, computed once

Revision ID: c14a00000001
Revises: c13a00000001
Create Date: 2026-12-07 16:17:26.172359

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c14a00000001'
down_revision = 'c13a00000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('post_embeddings',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('space', sa.String(length=120), nullable=False),
    sa.Column('text_hash', sa.String(length=32), nullable=False),
    sa.Column('passages', sa.Integer(), nullable=False),
    sa.Column('vectors', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('post_id', 'space', name=op.f('pk_post_embeddings'))
    )
    op.create_table('search_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_changes')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_changes_created_at'), ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('search_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_changes_created_at'))

    op.drop_table('search_changes')
    op.drop_table('post_embeddings')
