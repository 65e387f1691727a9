"""Synthetic Vietnamese questions, answers and comments, built from the shipped seed threads.

Rendering Markdown for 400,000 posts would take most of the seeding time, so a post is put
together from pieces whose HTML is known in advance: plain sentences (their HTML is their
escaped text inside <p>) and whole seed answers rendered once by forum.markup. `check_rendering`
renders a sample of posts for real and compares, so the shortcut cannot drift from the app.
"""

import html
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from forum.markup import normalize_text, render_markdown, render_plain
from search.vietnamese import fold

SEED_DIR = Path(__file__).resolve().parents[2] / "seed"


def _phrases(text):
    return [phrase.strip() for phrase in text.split(";")]


PLACES = _phrases(
    "Đồng Hỷ; Phổ Yên; Sông Công; Đại Từ; Định Hóa; Phú Bình; Võ Nhai; Phú Lương; Tân Cương; "
    "TP Thái Nguyên; La Bằng; Trại Cài; Quân Chu; Hóa Thượng"
)
PERSONAS = _phrases(
    "giáo viên tiểu học; nông dân trồng chè; cán bộ xã; sinh viên năm hai; chủ quán tạp hóa; "
    "thợ may; tài xế xe công nghệ; người bán hàng online; học sinh lớp 11; y tá trạm xá; "
    "kế toán hợp tác xã; cán bộ về hưu; công nhân KCN Yên Bình"
)
DEVICES = _phrases(
    "điện thoại Samsung; iPhone; máy tính bàn; laptop; máy tính bảng; điện thoại Oppo; "
    "điện thoại Xiaomi; điện thoại cũ của con"
)
# What members want to do, per tag: titles and sentences are built around these.
TASKS = {
    tag: _phrases(text)
    for tag, text in {
        "chatgpt": "đăng ký ChatGPT; dùng ChatGPT miễn phí; đổi ngôn ngữ ChatGPT sang tiếng Việt; "
        "xóa lịch sử trò chuyện ChatGPT; gửi ảnh cho ChatGPT đọc; lấy lại mật khẩu ChatGPT; "
        "hủy gói Plus; nói chuyện với ChatGPT bằng giọng nói",
        "gemini": "dùng Gemini trên điện thoại; so sánh Gemini với ChatGPT; "
        "bật Gemini thay trợ lý Google; cho Gemini đọc file PDF; hỏi Gemini bằng tiếng Việt",
        "viet-prompt": "viết prompt cho AI trả lời đúng ý; bắt AI trả lời ngắn gọn; "
        "nhờ AI đóng vai giáo viên; viết câu lệnh tóm tắt văn bản dài; "
        "yêu cầu AI trình bày thành bảng; cho AI ví dụ mẫu trước khi hỏi",
        "ai-tao-anh": "tạo ảnh bằng AI; làm rõ ảnh cũ bị mờ; xóa phông nền ảnh sản phẩm; "
        "vẽ logo cho cửa hàng; phục hồi ảnh thờ của ông bà; làm thiệp mời đám cưới",
        "ai-tao-video": "làm video bằng AI; lồng tiếng video bằng giọng đọc AI; "
        "tạo phụ đề tự động; viết kịch bản video ngắn; cắt ghép video giới thiệu sản phẩm",
        "ai-nong-nghiep": "hỏi AI về sâu bệnh trên lá; tính lượng phân bón cho ruộng; "
        "xem dự báo thời tiết cho mùa vụ; chụp ảnh lá cây để AI nhận bệnh; lập lịch tưới nước; "
        "ghi sổ chăn nuôi trên điện thoại",
        "che-thai-nguyen": "viết bài giới thiệu chè Tân Cương; đặt tên thương hiệu chè; "
        "chụp ảnh sản phẩm chè cho đẹp; tính giá bán chè online; làm nhãn mác gói chè; "
        "trả lời khách hỏi về cách pha chè",
        "giao-vien": "soạn giáo án bằng AI; ra đề kiểm tra 15 phút; chấm bài văn với AI; "
        "làm slide bài giảng; viết nhận xét học bạ; soạn thư mời họp phụ huynh",
        "hoc-tap": "ôn thi vào lớp 10 với AI; nhờ AI giải thích bài toán; tự học lập trình; "
        "tóm tắt sách bằng AI; lập kế hoạch ôn thi",
        "tieng-anh": "luyện nói tiếng Anh với AI; học từ vựng tiếng Anh mỗi ngày; "
        "sửa ngữ pháp bài viết tiếng Anh; luyện phát âm; dịch email sang tiếng Anh",
        "ban-hang-online": "viết bài bán hàng trên Facebook; trả lời tin nhắn khách nhanh; "
        "lên kịch bản livestream; viết mô tả sản phẩm; chạy quảng cáo rẻ",
        "dich-vu-cong": "nộp hồ sơ dịch vụ công trực tuyến; làm giấy khai sinh online; "
        "đăng ký thường trú trên mạng; xin phiếu lý lịch tư pháp; nộp lệ phí online",
        "vneid": "kích hoạt VNeID mức 2; lấy lại passcode VNeID; tích hợp bằng lái vào VNeID; "
        "chuyển VNeID sang điện thoại mới; dùng VNeID đi khám bệnh",
        "an-toan-so": "bật xác thực hai lớp; đặt mật khẩu mạnh; kiểm tra đường link lạ; "
        "bảo vệ tài khoản ngân hàng; xóa ứng dụng lạ trên điện thoại",
        "lua-dao": "nhận biết cuộc gọi giả công an; báo cáo tin nhắn lừa đảo; "
        "nhận biết video giả giọng người thân; lấy lại tiền bị lừa chuyển khoản; "
        "nhận biết việc nhẹ lương cao",
        "zalo": "sao lưu tin nhắn Zalo; chặn người lạ trên Zalo; gửi file lớn qua Zalo; "
        "lấy lại tài khoản Zalo; dọn bộ nhớ Zalo",
        "dien-thoai": "giải phóng bộ nhớ điện thoại; cập nhật phần mềm điện thoại; "
        "cài ứng dụng từ CH Play; chỉnh cỡ chữ to hơn; tiết kiệm pin",
        "van-phong": "viết công thức Excel; soạn biên bản họp bằng AI; định dạng văn bản Word; "
        "làm báo cáo tháng; trộn thư trong Word",
        "nguoi-moi": "bắt đầu dùng AI; hỏi AI câu đầu tiên; chọn ứng dụng AI phù hợp; "
        "dùng AI an toàn cho người lớn tuổi",
    }.items()
}
TITLE_OPENERS = _phrases(
    "Làm sao để; Cách; Hỏi cách; Có ai biết cách; Nhờ mọi người chỉ cách; Xin hướng dẫn; "
    "Cho em hỏi cách; Mình muốn; Bác nào biết cách; Hướng dẫn giúp cách; Tại sao không"
)
TITLE_CLOSERS = [
    "?", " ạ?", " được không?", " trên điện thoại?", " cho người mới?", " mà không mất tiền?",
    " nhanh nhất?", " với ạ", " cho bố mẹ?", " ở Thái Nguyên?", " — cần gấp", " cho học sinh?",
]  # fmt: skip
GREETINGS = _phrases(
    "Chào mọi người.; Cháu chào các cô chú ạ.; Xin chào cả nhà.; Em chào các anh chị.; "
    "Chào các bạn trong nhóm."
)
QUESTION_SENTENCES = _phrases(
    "Mình là {persona} ở {place}.; Tôi năm nay {age} tuổi, ở {place}.; "
    "Mình muốn {task} mà chưa biết bắt đầu từ đâu.; "
    "Đã thử {task} trên {device} nhưng không được.; "
    "Con cháu đi làm xa nên không có ai chỉ cho.; "
    "Ở xóm nhiều người cũng đang hỏi chuyện {task}.; "
    "Máy của mình là {device}, có làm được không?; Có mất tiền không mọi người?"
)
QUESTION_CLOSINGS = _phrases(
    "Cảm ơn mọi người nhiều!; Mong các bạn chỉ giúp ạ.; Ai biết chỉ mình với.; Xin cảm ơn.; "
    "Em cảm ơn ạ.; Mình cảm ơn trước nhé."
)
ANSWER_SENTENCES = _phrases(
    "Bạn thử {task} trên {device} xem, mình làm vậy thấy được.; "
    "Mình ở {place} cũng từng gặp chuyện này.; "
    "Cách này mình đã hướng dẫn cho bố mẹ, làm được ngay.; "
    "Nếu vẫn không được thì bạn ra điểm hỗ trợ ở {place} nhờ các bạn đoàn viên chỉ cho.; "
    "Muốn {task} thì nên làm từ từ từng bước, đừng vội.; "
    "Lưu ý không đưa mã OTP cho bất kỳ ai.; Bạn làm xong thì báo lại cho mọi người biết nhé.; "
    "Trên {device} thì làm tương tự."
)
SHORT_COMMENTS = _phrases(
    "Cảm ơn bạn nhiều!; Mình làm được rồi, cảm ơn nhé.; Cách này hay quá.; Hay quá, lưu lại.; "
    "Mình cũng đang cần cái này.; Bạn chỉ rõ hơn bước 2 được không?; "
    "Đúng rồi, mình cũng làm vậy.; cảm ơn ad; ok mình thử xem sao; "
    "Máy mình không có mục đó bạn ạ."
)
# Teencode seen in the group: whole words only, applied before diacritics are dropped.
TEENCODE = {"không": "ko", "được": "dc", "mình": "mk", "bạn": "b", "với": "vs", "gì": "j",
            "rồi": "r", "biết": "bít", "anh em": "ae"}  # fmt: skip
_TEENCODE_RE = re.compile(r"\b(" + "|".join(map(re.escape, TEENCODE)) + r")\b")

# A sentence is "plain" when its HTML is just its escaped text: no Markdown or HTML syntax,
# nothing the linkifier would turn into a link, no list or heading marker at its start.
_UNSAFE = re.compile(r"[*_`\[\]<>\\#|~]|https?:|www\.|\w\.\w|^\s*(\d+[.)]|[-+>=])\s|^\s*[-+>=]$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_LIST_MARKER = re.compile(r"^\s*(\d+[.)]|[-+*])\s+")


@dataclass(frozen=True)
class Text:
    """A post body as members write it (Markdown) and as the app stores it (sanitized HTML)."""

    md: str
    html: str


@dataclass
class Topic:
    """One seed thread: what a synthetic thread is about, and its sentences to reuse."""

    tags: tuple[str, ...]
    title: str
    question_sentences: list[Text] = field(default_factory=list)
    answer_sentences: list[Text] = field(default_factory=list)
    rich_answers: list[Text] = field(default_factory=list)


def escape_text(text):
    """How forum.markup escapes plain text inside a paragraph."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def plain_sentences(markdown_text):
    """Sentences of a seed body with list markers, bold and code marks taken out."""
    sentences = []
    for line in markdown_text.splitlines():
        line = _LIST_MARKER.sub("", line).replace("**", "").replace("`", "").strip()
        for sentence in _SENTENCE_END.split(line):
            sentence = " ".join(sentence.split())
            if 12 <= len(sentence) <= 300 and not _UNSAFE.search(sentence):
                sentences.append(sentence)
    return sentences


def _paragraph(sentences):
    return Text(
        " ".join(s.md for s in sentences), "<p>" + " ".join(s.html for s in sentences) + "</p>\n"
    )


def _join(blocks):
    return Text("\n\n".join(b.md for b in blocks), "".join(b.html for b in blocks))


class TextFactory:
    """Deterministic (given the Random) titles and bodies; ~13% without diacritics, ~6% teencode."""

    def __init__(self, rng: random.Random, seed_dir: Path = SEED_DIR):
        self.rng = rng
        self.topics = []
        self.seed_comments = []
        for path in sorted(seed_dir.glob("threads_*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._add_seed_thread(json.loads(line))
        self.tags_in_use = sorted({tag for topic in self.topics for tag in topic.tags})
        self.comments = [Text(c, render_plain(c)) for c in self.seed_comments + SHORT_COMMENTS]
        self._by_tag = {tag: [t for t in self.topics if tag in t.tags] for tag in self.tags_in_use}

    def _add_seed_thread(self, record):
        topic = Topic(tags=tuple(record["tags"]), title=normalize_text(record["title"]))
        topic.question_sentences = [self._sentence(s) for s in plain_sentences(record["body"])]
        for answer in record.get("answers", []):
            body = normalize_text(answer["body"])
            topic.answer_sentences += [self._sentence(s) for s in plain_sentences(body)]
            if len(body) >= 80:
                topic.rich_answers.append(Text(body, render_markdown(body)))
            self.seed_comments += [normalize_text(c["body"]) for c in answer.get("comments", [])]
        self.seed_comments += [normalize_text(c["body"]) for c in record.get("comments", [])]
        self.topics.append(topic)

    @staticmethod
    def _sentence(text):
        text = normalize_text(text)
        return Text(text, escape_text(text))

    # Pieces ---------------------------------------------------------------------------------

    def topic(self):
        return self.rng.choice(self.topics)

    def _fill(self, template, topic):
        return template.format(
            persona=self.rng.choice(PERSONAS),
            place=self.rng.choice(PLACES),
            age=self.rng.randint(16, 75),
            device=self.rng.choice(DEVICES),
            task=self._task(topic),
        )

    def _task(self, topic):
        return self.rng.choice(TASKS.get(self.rng.choice(topic.tags), TASKS["nguoi-moi"]))

    def _related(self, topic):
        """The topic itself most of the time, else another seed thread sharing a tag."""
        if self.rng.random() < 0.6:
            return topic
        return self.rng.choice(self._by_tag[self.rng.choice(topic.tags)])

    def _answer_sentences(self, topic, count):
        out = []
        for _ in range(count):
            source = self._related(topic)
            if source.answer_sentences and self.rng.random() < 0.85:
                out.append(self.rng.choice(source.answer_sentences))
            else:
                out.append(self._sentence(self._fill(self.rng.choice(ANSWER_SENTENCES), topic)))
        return out

    # Posts ----------------------------------------------------------------------------------

    def title(self, topic, style):
        roll = self.rng.random()
        if roll < 0.2:
            title = topic.title
        elif roll < 0.4:
            questions = [
                s.md for s in self._related(topic).question_sentences if s.md.endswith("?")
            ]
            title = self.rng.choice(questions) if questions else topic.title
        else:
            title = self.rng.choice(TITLE_OPENERS) + " " + self._task(topic)
            title += self.rng.choice(TITLE_CLOSERS)
        title = title[:150].rstrip()
        return self._styled_title(title, style)

    def question(self, topic, style):
        rng = self.rng
        first = []
        if rng.random() < 0.5:
            first.append(self._sentence(rng.choice(GREETINGS)))
        first.append(self._sentence(self._fill(rng.choice(QUESTION_SENTENCES), topic)))
        source = self._related(topic)
        pool = source.question_sentences or topic.question_sentences
        first += rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        paragraphs = [_paragraph(first)]
        if rng.random() < 0.5:
            second = [self._sentence(self._fill(rng.choice(QUESTION_SENTENCES), topic))]
            second.append(self._sentence(rng.choice(QUESTION_CLOSINGS)))
            paragraphs.append(_paragraph(second))
        return self.styled(_join(paragraphs), style)

    def answer(self, topic, style):
        rng = self.rng
        blocks = []
        rich = self._related(topic).rich_answers
        if rich and rng.random() < 0.25:
            if rng.random() < 0.5:
                blocks.append(_paragraph(self._answer_sentences(topic, rng.randint(1, 2))))
            blocks.append(rng.choice(rich))
        else:
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                blocks.append(_paragraph(self._answer_sentences(topic, rng.randint(1, 4))))
        return self.styled(_join(blocks), style)

    def comment(self, style):
        return self.styled(self.rng.choice(self.comments), style)

    def style(self):
        """How a member writes: "vi" with diacritics, "folded" without, "teencode" abbreviated."""
        roll = self.rng.random()
        return "teencode" if roll < 0.06 else "folded" if roll < 0.19 else "vi"

    # Styles ---------------------------------------------------------------------------------

    @staticmethod
    def styled(text, style):
        """The same text without diacritics or in teencode; HTML changes the same way, since
        tags, attributes and links are ASCII and teencode words all carry diacritics."""
        if style == "vi":
            return text
        md, body_html = text.md, text.html
        if style == "teencode":
            md, body_html = _teencode(md), _teencode(body_html)
        return Text(
            unicodedata.normalize("NFC", fold(md)), unicodedata.normalize("NFC", fold(body_html))
        )

    @staticmethod
    def _styled_title(title, style):
        if style == "teencode":
            title = _teencode(title.lower())
        return fold(title) if style != "vi" else title


def _teencode(text):
    return _TEENCODE_RE.sub(lambda m: TEENCODE[m.group(1)], text)


def check_rendering(factory: TextFactory, samples: int = 300):
    """Render sampled posts with forum.markup and compare; returns the mismatches."""
    mismatches = []
    for index in range(samples):
        topic = factory.topic()
        style = ("vi", "folded", "teencode")[index % 3]
        for kind, text in (
            ("question", factory.question(topic, style)),
            ("answer", factory.answer(topic, style)),
        ):
            if normalize_text(text.md) != text.md or render_markdown(text.md) != text.html:
                mismatches.append((kind, text))
        comment = factory.comment(style)
        if render_plain(comment.md) != comment.html:
            mismatches.append(("comment", comment))
    return mismatches
