"""Reading a Facebook "Download your information" archive (JSON format): group posts and group
comments, in one member's archive or in many gathered into one folder. No Flask, no database:
files in, posts and comments out, with every problem found on the way.

Layouts seen in the wild (the file is recognised by its content, so a renamed file works too):

- your_facebook_activity/groups/your_posts_in_groups.json, .../group_posts_and_comments.json,
  older groups/your_posts_and_comments_in_groups.json: {"group_posts_v2": [entry, ...]}
- your_facebook_activity/groups/your_comments_in_groups.json, older
  groups/your_comments_in_groups.json: {"group_comments_v2": [entry, ...]}

A post entry: {"timestamp", "title": "An posted in GROUP.", "data": [{"post": text}, ...],
"attachments": [{"data": [{"media": {"uri": "your_facebook_activity/posts/media/..."}}]}]}.
A comment entry: {"timestamp", "title": "An commented on Bình's post.", "data":
[{"comment": {"timestamp", "comment": text, "author", "group"}}]}. A member's own export does
not say which post a comment belongs to: match_comments() finds it by that author and time.
"""

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

POST_KEYS = ("group_posts_v2", "group_posts", "your_posts_in_groups")
COMMENT_KEYS = ("group_comments_v2", "group_comments", "your_comments_in_groups")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
MAX_JSON_BYTES = 200 * 1024 * 1024
MAX_PHOTO_BYTES = 20 * 1024 * 1024  # larger files are refused before upload checks read them
MAX_NESTED_ZIP_BYTES = 4 * 1024 * 1024 * 1024
# Folders of an archive that never hold group posts and can be huge.
SKIP_PARTS = {"messages", "inbox", "e2ee_cutover", "archived_threads", "message_requests"}

# Titles in English and Vietnamese exports. "Own" posts and comments point back at the author.
_NAME = r"(?P<author>.+?)"
POST_TITLES = [
    re.compile(_NAME + r" (?:posted|wrote|shared .{1,40}?) in (?P<group>.+?)\.?$", re.I),
    re.compile(
        _NAME + r" đã (?:đăng|viết|chia sẻ)(?: .{1,40}?)? (?:trong|vào|lên) (?P<group>.+?)\.?$",
        re.I,
    ),
]  # fmt: skip
COMMENT_TITLES = [
    re.compile(_NAME + r" commented on (?P<target>.+)'s (?:post|photo|video|status)\b", re.I),
    re.compile(_NAME + r" commented on (?P<own>his|her|their|your) own (?:post|photo|video)", re.I),
    re.compile(_NAME + r" đã bình luận về (?:bài viết|ảnh|video) của (?P<own>chính mình|mình)\.?$",
               re.I),
    re.compile(_NAME + r" đã bình luận về (?:bài viết|ảnh|video) của (?P<target>.+?)\.?$", re.I),
]  # fmt: skip
REPLY_TITLES = [
    re.compile(_NAME + r" replied to (?P<target>.+)'s comment\b", re.I),
    re.compile(_NAME + r" replied to (?P<own>his|her|their|your) own comment", re.I),
    re.compile(_NAME + r" đã trả lời bình luận của (?P<own>chính mình|mình)\.?$", re.I),
    re.compile(_NAME + r" đã (?:trả lời|phản hồi) bình luận của (?P<target>.+?)\.?$", re.I),
]  # fmt: skip


class BadArchive(ValueError):
    """The path is not something the importer can read at all."""


@dataclass
class PhotoRef:
    uri: str
    data: bytes | None  # None when the archive does not hold the file


@dataclass
class FbPost:
    key: str
    author: str
    group: str
    text: str
    created: datetime
    photos: list[PhotoRef]
    source: str


@dataclass
class FbComment:
    key: str
    author: str
    kind: str  # comment (on a post) | reply (to a comment)
    target: str | None  # whose post or comment; None when the title does not say
    group: str
    text: str
    created: datetime
    photos: list[PhotoRef]
    source: str
    parent_key: str | None = None  # set by match_comments: the post's or the comment's key
    post_key: str | None = None  # the post the thread hangs off


@dataclass
class Archive:
    posts: list[FbPost] = field(default_factory=list)
    comments: list[FbComment] = field(default_factory=list)
    files_read: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    bad_entries: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[tuple[FbComment, str]] = field(default_factory=list)
    profile_names: dict[str, str] = field(default_factory=dict)  # archive root -> owner's name


# Text ----------------------------------------------------------------------------------------


def fix_mojibake(text):
    """Facebook writes each UTF-8 byte as its own character ("ch\\u00c3\\u00a0o" for "chào").
    Undo that when the string round-trips through latin-1 -> UTF-8; leave correct text alone."""
    if not text or text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fix_strings(value):
    """fix_mojibake on every string inside a decoded JSON value."""
    if isinstance(value, str):
        return fix_mojibake(value)
    if isinstance(value, list):
        return [fix_strings(item) for item in value]
    if isinstance(value, dict):
        return {fix_mojibake(k): fix_strings(v) for k, v in value.items()}
    return value


def name_key(name):
    """How two spellings of one Facebook name compare: NFC, single spaces, casefolded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name or "")).strip().casefold()


def _clean(text):
    text = unicodedata.normalize("NFC", text or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _key(kind, author, timestamp, group):
    basis = json.dumps(["fb", kind, name_key(author), int(timestamp), name_key(group)])
    return "fb:" + hashlib.sha256(basis.encode()).hexdigest()[:48]


# Files ---------------------------------------------------------------------------------------


class _Tree:
    """Every file under a folder, in a zip, or in zips nested in either, by POSIX path."""

    def __init__(self):
        self.readers = {}  # path -> callable returning the bytes
        self.open_files = []
        self.bad = []  # (path, message) of zips inside the archive that cannot be read

    def close(self):
        for handle in self.open_files:
            handle.close()

    def add_folder(self, folder):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                if rel.lower().endswith(".zip"):
                    self.add_zip(rel, self._open(path), bad=self.bad)
                else:
                    self.readers[rel] = path.read_bytes

    def _open(self, path):
        handle = path.open("rb")
        self.open_files.append(handle)
        return handle

    def add_zip(self, prefix, handle, bad=None):
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError) as error:
            if bad is None:
                raise BadArchive(f"{prefix}: not a readable zip file ({error})") from error
            bad.append((prefix, f"not a readable zip file ({error})"))
            return
        self.open_files.append(archive)
        base = f"{prefix.removesuffix('.zip')}/" if prefix else ""
        for info in archive.infolist():
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            rel = base + info.filename
            if info.filename.lower().endswith(".zip") and info.file_size < MAX_NESTED_ZIP_BYTES:
                # An admin's folder of members' archives: zips inside a zip.
                self.add_zip(rel, io.BytesIO(archive.read(info)), bad=self.bad)
            else:
                self.readers[rel] = _zip_reader(archive, info)


def _zip_reader(archive, info):
    def read():
        if info.file_size > MAX_JSON_BYTES and info.filename.lower().endswith(".json"):
            raise ValueError("file too large")
        return archive.read(info)

    return read


def _is_candidate(path):
    """JSON files that may hold group posts or comments (others are never opened)."""
    lower = path.lower()
    parts = set(PurePosixPath(lower).parts)
    if not lower.endswith(".json") or parts & SKIP_PARTS:
        return False
    name = PurePosixPath(lower).name
    return "group" in lower or any(w in name for w in ("post", "comment", "bai_viet", "binh_luan"))


def _is_profile(path):
    return PurePosixPath(path.lower()).name == "profile_information.json"


def _root_of(path):
    """The archive a file belongs to: the folder above its your_facebook_activity/ or groups/."""
    parts = PurePosixPath(path).parts
    for index, part in enumerate(parts):
        if part.lower() in ("your_facebook_activity", "groups", "personal_information",
                            "profile_information", "posts"):  # fmt: skip
            return "/".join(parts[:index])
    return "/".join(parts[:-1])


def read_archive(path, group=None, match_window=timedelta(days=7)):
    """Everything readable in `path` (a .zip, a folder, or one JSON file), comments matched to
    their posts; `group`, when given, keeps only entries of groups whose name contains it."""
    path = Path(path)
    tree = _Tree()
    try:
        return _read(tree, path, group, match_window)
    finally:
        tree.close()


def _read(tree, path, group, match_window):
    if not path.exists():
        raise BadArchive(f"{path}: no such file or folder")
    if path.is_dir():
        tree.add_folder(path)
    elif path.suffix.lower() == ".zip":
        tree.add_zip("", tree._open(path))
    elif path.suffix.lower() == ".json":
        tree.readers[path.name] = path.read_bytes
    else:
        raise BadArchive(f"{path}: expected a Facebook archive (.zip), its folder or a .json file")
    archive = Archive(bad_files=list(tree.bad))
    photos = {p: r for p, r in tree.readers.items() if p.lower().endswith(PHOTO_SUFFIXES)}
    for file_path in sorted(tree.readers):
        if _is_profile(file_path):
            _read_profile(tree, file_path, archive)
    for file_path in sorted(tree.readers):
        if path.is_file() or _is_candidate(file_path):
            _read_file(tree, file_path, archive, photos)
    if group:
        wanted = name_key(group)
        archive.posts = [p for p in archive.posts if wanted in name_key(p.group)]
        archive.comments = [
            c for c in archive.comments if not c.group or wanted in name_key(c.group)
        ]
    _dedupe(archive)
    match_comments(archive, match_window)
    return archive


def _load_json(tree, file_path):
    data = tree.readers[file_path]()
    if len(data) > MAX_JSON_BYTES:
        raise ValueError("file too large")
    text = data.decode("utf-8-sig")
    return fix_strings(json.loads(text))


def _read_profile(tree, file_path, archive):
    try:
        data = _load_json(tree, file_path)
        profile = data.get("profile_v2") or data.get("profile") or {}
        name = (profile.get("name") or {}).get("full_name")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return
    if isinstance(name, str) and name.strip():
        archive.profile_names[_root_of(file_path)] = _clean(name)


def _read_file(tree, file_path, archive, photos):
    try:
        data = _load_json(tree, file_path)
    except UnicodeDecodeError:
        archive.bad_files.append((file_path, "not UTF-8 text"))
        return
    except json.JSONDecodeError as error:
        archive.bad_files.append((file_path, f"invalid JSON: {error.msg} at line {error.lineno}"))
        return
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        archive.bad_files.append((file_path, str(error)))
        return
    posts, comments = _entries(data)
    if posts is None and comments is None:
        return  # some other part of the archive
    archive.files_read += 1
    root = _root_of(file_path)
    owner = archive.profile_names.get(root)
    for kind, entries in (("post", posts), ("comment", comments)):
        if entries is None:
            continue
        if not isinstance(entries, list):
            archive.bad_files.append((file_path, f"{kind}s are not a list"))
            continue
        for number, entry in enumerate(entries, start=1):
            source = f"{file_path} #{number}"
            try:
                item = _parse_entry(entry, owner, root, photos, source)
            except BadEntry as error:
                archive.bad_entries.append((source, str(error)))
                continue
            if isinstance(item, FbPost):
                archive.posts.append(item)
            else:
                archive.comments.append(item)


def _entries(data):
    """(post entries, comment entries) of a decoded file; None for what it does not hold."""
    if isinstance(data, dict):
        posts = next((data[k] for k in POST_KEYS if k in data), None)
        comments = next((data[k] for k in COMMENT_KEYS if k in data), None)
        return posts, comments
    # A bare list: the oldest layout, or a file an admin cut out of an archive. Each entry says
    # by its content whether it is a post or a comment.
    if isinstance(data, list) and any(
        isinstance(e, dict) and "timestamp" in e and "data" in e for e in data[:5]
    ):
        return data, None
    return None, None


class BadEntry(ValueError):
    pass


def _when(value):
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadEntry("missing or bad timestamp")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise BadEntry(f"bad timestamp {value!r}") from error


def _parse_entry(entry, owner, root, photos, source):
    if not isinstance(entry, dict):
        raise BadEntry("an entry must be a JSON object")
    data = entry.get("data") or []
    if not isinstance(data, list):
        raise BadEntry("'data' must be a list")
    title = _clean(entry.get("title") if isinstance(entry.get("title"), str) else "")
    comment = next(
        (d["comment"] for d in data if isinstance(d, dict) and isinstance(d.get("comment"), dict)),
        None,
    )
    pictures = _photos(entry, root, photos)
    if comment is not None:
        return _parse_comment(entry, comment, title, owner, pictures, source)
    texts = [d["post"] for d in data if isinstance(d, dict) and isinstance(d.get("post"), str)]
    text = _clean("\n\n".join(texts))
    match = _first_match(POST_TITLES, title)
    author = match.group("author") if match else owner
    group = _clean(match.group("group")) if match else ""
    if not author:
        raise BadEntry("the post does not say who wrote it")
    if not text and not pictures:
        raise BadEntry("a post with neither text nor photos")
    created = _when(entry.get("timestamp"))
    return FbPost(
        key=_key("post", author, created.timestamp(), group),
        author=_clean(author),
        group=group,
        text=text,
        created=created,
        photos=pictures,
        source=source,
    )


def _parse_comment(entry, comment, title, owner, pictures, source):
    text = comment.get("comment")
    if text is not None and not isinstance(text, str):
        raise BadEntry("the comment's text is not text")
    text = _clean(text)
    if not text and not pictures:
        raise BadEntry("a comment with neither text nor photo")
    reply = _first_match(REPLY_TITLES, title)
    match = reply or _first_match(COMMENT_TITLES, title)
    author = comment.get("author") if isinstance(comment.get("author"), str) else None
    author = _clean(author or (match.group("author") if match else None) or owner or "")
    if not author:
        raise BadEntry("the comment does not say who wrote it")
    target = None
    if match is not None:
        groups = match.groupdict()
        target = author if groups.get("own") else _clean(groups.get("target") or "") or None
    created = _when(comment.get("timestamp") or entry.get("timestamp"))
    group = _clean(comment.get("group") if isinstance(comment.get("group"), str) else "")
    kind = "reply" if reply else "comment"
    return FbComment(
        key=_key(kind, author, created.timestamp(), group),
        author=author,
        kind=kind,
        target=target,
        group=group,
        text=text,
        created=created,
        photos=pictures,
        source=source,
    )


def _first_match(patterns, title):
    for pattern in patterns:
        match = pattern.match(title)
        if match:
            return match
    return None


def _photos(entry, root, photos):
    found = []
    for attachment in entry.get("attachments") or []:
        items = attachment.get("data") if isinstance(attachment, dict) else None
        for item in items or []:
            media = item.get("media") if isinstance(item, dict) else None
            uri = media.get("uri") if isinstance(media, dict) else None
            if isinstance(uri, str) and uri.lower().endswith(PHOTO_SUFFIXES):
                found.append(PhotoRef(uri=uri, data=_photo_bytes(uri, root, photos)))
    return found


def _photo_bytes(uri, root, photos):
    uri = uri.lstrip("/")
    for candidate in (f"{root}/{uri}" if root else uri, uri):
        if candidate in photos:
            return _read_photo(photos[candidate])
    # The uri is relative to the archive's top folder, which an unpacked copy may lack or add.
    suffix = "/" + uri
    matches = [p for p in photos if p.endswith(suffix) and p.startswith(root)]
    return _read_photo(photos[matches[0]]) if len(matches) == 1 else None


def _read_photo(reader):
    data = reader()
    return data if len(data) <= MAX_PHOTO_BYTES else b""


def _dedupe(archive):
    """One entry per key: the same post can sit in two files of a gathered folder."""
    for name in ("posts", "comments"):
        seen, kept = set(), []
        for item in getattr(archive, name):
            if item.key not in seen:
                seen.add(item.key)
                kept.append(item)
        setattr(archive, name, kept)


# Matching ------------------------------------------------------------------------------------


def _same_group(a, b):
    return not a or not b or name_key(a) == name_key(b)


def match_comments(archive, window):
    """Find each comment's post (and each reply's comment) by the author its title names and its
    time: the one post (comment) by that author in the same group in the `window` before it.
    None, or more than one, and the comment is listed as unmatched instead of guessed."""
    by_author = {}
    for post in archive.posts:
        by_author.setdefault(name_key(post.author), []).append(post)
    comments_by_author = {}
    matched = []
    for comment in sorted(archive.comments, key=lambda c: (c.created, c.kind != "comment")):
        if comment.target is None:
            archive.unmatched.append((comment, "the export does not say whose post it is on"))
            continue
        pool = (by_author if comment.kind == "comment" else comments_by_author).get(
            name_key(comment.target), []
        )
        candidates = [
            item
            for item in pool
            if comment.created - window <= item.created <= comment.created
            and _same_group(comment.group, item.group)
            and item is not comment
        ]
        what = "post" if comment.kind == "comment" else "comment"
        if not candidates:
            archive.unmatched.append(
                (comment, f"no {what} by {comment.target} in the {window.days} days before it")
            )
            continue
        threads = {getattr(item, "post_key", None) or item.key for item in candidates}
        if len(candidates) > 1:
            archive.unmatched.append(
                (comment, f"{len(candidates)} {what}s by {comment.target} could be the one")
            )
            continue
        target = candidates[0]
        comment.parent_key = target.key
        comment.post_key = threads.pop()
        comments_by_author.setdefault(name_key(comment.author), []).append(comment)
        matched.append(comment)
    archive.comments = matched
