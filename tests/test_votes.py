"""Votes and reputation: one vote per member, changeable, never on one's own post."""

import pytest

from forum.services import posts, votes
from forum.services.errors import PermissionDenied
from forum.services.reputation import compute_reputation


@pytest.fixture
def answer(thread, other_member):
    return posts.post_answer(
        other_member, thread, "Bạn nên nêu rõ vai trò và mục tiêu trong prompt."
    )


def test_upvoting_an_answer_gives_its_author_ten_points(client, auth, member, other_member, answer):
    auth.login(member)
    client.post(f"/p/{answer.id}/vote", data={"value": "up"})
    assert answer.score == 1
    assert other_member.reputation == 11


def test_voting_again_the_same_way_takes_the_vote_back(member, answer):
    assert votes.vote(member, answer, 1) == 1
    assert votes.vote(member, answer, 1) == 0
    assert answer.score == 0


def test_a_vote_can_be_changed(member, other_member, answer):
    votes.vote(member, answer, 1)
    votes.vote(member, answer, -1)
    assert answer.score == -1
    assert other_member.reputation == 1  # never below the base


def test_question_votes_count_five_and_update_the_thread_score(other_member, member, thread):
    votes.vote(other_member, thread.question, 1)
    assert thread.score == 1
    assert member.reputation == 6


def test_nobody_votes_on_their_own_post(client, auth, member, thread):
    auth.login(member)
    response = client.post(f"/p/{thread.question.id}/vote", data={"value": "up"})
    assert response.status_code == 403
    assert "tự bầu" in response.get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        votes.vote(member, thread.question, 1)


def test_a_bad_vote_value_is_a_clear_400(client, auth, member, answer):
    auth.login(member)
    assert client.post(f"/p/{answer.id}/vote", data={"value": "sideways"}).status_code == 400


def test_reputation_is_derived_from_votes_and_accepts(
    member, other_member, make_user, thread, answer
):
    voter = make_user("nguoi_bau")
    votes.vote(voter, answer, 1)
    votes.vote(member, answer, 1)
    posts.accept_answer(member, answer)
    assert other_member.reputation == compute_reputation(other_member.id) == 1 + 10 + 10 + 15


def test_votes_on_a_deleted_post_stop_counting(member, other_member, answer):
    votes.vote(member, answer, 1)
    posts.delete_post(other_member, answer)
    assert other_member.reputation == 1


def test_profile_shows_reputation(client, member, other_member, answer):
    votes.vote(member, answer, 1)
    page = client.get(f"/u/{other_member.username}").get_data(as_text=True)
    assert ">11<" in page
