"""An optional drafted answer from an OpenAI-compatible chat endpoint (off by default).

The model sees only the question and the numbered past answers suggested for it, must cite them
as [1], [2]…, and its text is shown to the asker labelled as machine-written, never as a
community answer. A time-out or any error simply leaves the retrieval suggestions alone.
"""

import json
import logging
import re
import urllib.error
import urllib.request

from flask import current_app

from forum import jobs
from forum.extensions import db
from forum.markup import plain_text, render_markdown
from forum.models import AssistantDraft, Thread
from forum.services import suggestions

log = logging.getLogger(__name__)
SOURCE_CHARS = 1500
SYSTEM_PROMPT = (
    "Bạn là trợ lý của diễn đàn hỏi đáp Xứ Trà Hỏi Đáp (cộng đồng học AI ở Thái Nguyên). "
    "Chỉ dùng thông tin trong các câu trả lời cũ được đánh số bên dưới; không bịa thêm. "
    "Ghi nguồn bằng số trong ngoặc vuông như [1], [2] ngay sau ý lấy từ nguồn đó. "
    "Nếu các nguồn không đủ để trả lời, hãy nói rõ như vậy. "
    "Trả lời bằng tiếng Việt dễ hiểu, ngắn gọn (dưới 150 từ), có thể dùng gạch đầu dòng."
)


def enabled(config=None):
    config = config or current_app.config
    return bool(config.get("LLM_BASE_URL") and config.get("LLM_MODEL"))


def build_messages(thread, sources):
    numbered = "\n\n".join(
        f"[{n}] (trả lời cho câu hỏi: {answer.thread.title})\n"
        f"{plain_text(answer.body_html)[:SOURCE_CHARS]}"
        for n, answer in sources
    )
    question = f"{thread.title}\n{plain_text(thread.question.body_html)}"
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Câu hỏi:\n{question}\n\nCác câu trả lời cũ:\n{numbered}"},
    ]


def ask_model(messages, config):
    """The chat completion's text, or None on any error or time-out."""
    request = urllib.request.Request(
        config["LLM_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps(
            {
                "model": config["LLM_MODEL"],
                "messages": messages,
                "temperature": 0.2,
                "max_tokens": 500,
            }
        ).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {config.get('LLM_API_KEY') or ''}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=config["LLM_TIMEOUT"]) as response:
            body = json.load(response)
        return body["choices"][0]["message"]["content"].strip() or None
    except (
        urllib.error.URLError,
        TimeoutError,
        OSError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
    ) as error:
        log.warning("drafted answer skipped: %s", error)
        return None


@jobs.job
def draft_answer(thread_id):
    """Draft and store a short answer for a new question, if a model is configured."""
    config = current_app.config
    thread = db.session.get(Thread, thread_id)
    if not enabled(config) or thread is None or thread.question is None:
        return None
    sources = list(enumerate((s.answer for s in suggestions.ensure_for_thread(thread)), start=1))
    if not sources:
        return None
    text = ask_model(build_messages(thread, sources), config)
    if text is None:
        return None
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    # Numbers that name no source are dropped, so every citation links somewhere real.
    text = re.sub(
        r"\[(\d+)\]", lambda m: m.group(0) if int(m.group(1)) <= len(sources) else "", text
    )
    draft = db.session.query(AssistantDraft).filter_by(thread_id=thread.id).one_or_none()
    draft = draft or AssistantDraft(thread_id=thread.id)
    draft.body_html = render_markdown(text)
    draft.sources = [
        {"n": n, "answer_id": answer.id, "title": answer.thread.title, "cited": n in cited}
        for n, answer in sources
    ]
    draft.model = config["LLM_MODEL"][:100]
    db.session.add(draft)
    db.session.commit()
    return draft


def for_thread(thread):
    return db.session.query(AssistantDraft).filter_by(thread_id=thread.id).one_or_none()
