"""duplicates (threads.duplicate_of_id, duplicate_votes), saved posts, data exports and
deleted accounts (users.deleted_at)

Revision ID: c16m00000001
Revises: c15a00000001
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16m00000001'
down_revision = 'c15a00000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_as_duplicate_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_threads_duplicate_of_id', ['duplicate_of_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_threads_duplicate_of_id', 'threads', ['duplicate_of_id'], ['id'],
            ondelete='SET NULL',
        )
    op.create_table(
        'duplicate_votes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('original_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['original_id'], ['threads.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('thread_id', 'user_id', name='uq_duplicate_votes_thread_user'),
    )
    op.create_index('ix_duplicate_votes_thread_id', 'duplicate_votes', ['thread_id'])
    op.create_index('ix_duplicate_votes_user_id', 'duplicate_votes', ['user_id'])
    op.create_table(
        'saved_posts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'post_id', name='uq_saved_posts_user_post'),
    )
    op.create_index('ix_saved_posts_user_id', 'saved_posts', ['user_id'])
    op.create_index('ix_saved_posts_post_id', 'saved_posts', ['post_id'])
    op.create_index('ix_saved_posts_created_at', 'saved_posts', ['created_at'])
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token'),
    )
    op.create_index('ix_data_exports_user_id', 'data_exports', ['user_id'])


def downgrade():
    op.drop_table('data_exports')
    op.drop_table('saved_posts')
    op.drop_table('duplicate_votes')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_constraint('fk_threads_duplicate_of_id', type_='foreignkey')
        batch_op.drop_index('ix_threads_duplicate_of_id')
        batch_op.drop_column('closed_as_duplicate_at')
        batch_op.drop_column('duplicate_of_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
