//! A small JSON reader that keeps what `serde_json::Value` loses: repeated keys (in
//! document order) and the literal text of numbers and strings.

use std::borrow::Cow;

/// Nesting deeper than this is refused (treated as invalid input), which keeps the
/// recursive reader and walkers far away from the end of any thread's stack.
pub(crate) const MAX_DEPTH: usize = 512;

/// One JSON value, borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawNode<'a> {
    Null,
    Bool(bool),
    /// The number's literal text.
    Number(&'a str),
    /// The unescaped value and the literal text between the quotes.
    String(Cow<'a, str>, &'a str),
    Array(Vec<RawNode<'a>>),
    /// Members in document order, repeated keys included.
    Object(Vec<(Cow<'a, str>, RawNode<'a>)>),
}

/// Parses one JSON value (RFC 8259, surrounding whitespace allowed). `None` for anything
/// that is not exactly one valid value, including invalid UTF-8 and over-deep nesting.
pub(crate) fn parse(input: &[u8]) -> Option<RawNode<'_>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut p = Parser {
        s: text,
        b: input,
        pos: 0,
    };
    p.ws();
    let node = p.value(0)?;
    p.ws();
    (p.pos == p.b.len()).then_some(node)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        (self.b.get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    fn value(&mut self, depth: usize) -> Option<RawNode<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match *self.b.get(self.pos)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (value, raw) = self.string()?;
                Some(RawNode::String(value, raw))
            }
            b't' => self.literal("true").map(|()| RawNode::Bool(true)),
            b'f' => self.literal("false").map(|()| RawNode::Bool(false)),
            b'n' => self.literal("null").map(|()| RawNode::Null),
            b'-' | b'0'..=b'9' => self.number().map(RawNode::Number),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<RawNode<'a>> {
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.eat(b'}') {
            return Some(RawNode::Object(members));
        }
        loop {
            self.ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return None;
            }
            let (key, _) = self.string()?;
            self.ws();
            if !self.eat(b':') {
                return None;
            }
            self.ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                return Some(RawNode::Object(members));
            }
            return None;
        }
    }

    fn array(&mut self, depth: usize) -> Option<RawNode<'a>> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b']') {
            return Some(RawNode::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Some(RawNode::Array(items));
            }
            return None;
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.eat(b'-');
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        self.s.get(start..self.pos)
    }

    /// A string starting at the opening quote: `(unescaped, raw text between the quotes)`.
    fn string(&mut self) -> Option<(Cow<'a, str>, &'a str)> {
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut run_start = start;
        loop {
            let c = *self.b.get(self.pos)?;
            match c {
                b'"' => {
                    let raw = self.s.get(start..self.pos)?;
                    let value = match owned {
                        None => Cow::Borrowed(raw),
                        Some(mut buf) => {
                            buf.push_str(self.s.get(run_start..self.pos)?);
                            Cow::Owned(buf)
                        }
                    };
                    self.pos += 1;
                    return Some((value, raw));
                }
                b'\\' => {
                    let buf = owned.get_or_insert_with(String::new);
                    buf.push_str(self.s.get(run_start..self.pos)?);
                    self.pos += 1;
                    let e = *self.b.get(self.pos)?;
                    self.pos += 1;
                    match e {
                        b'"' => buf.push('"'),
                        b'\\' => buf.push('\\'),
                        b'/' => buf.push('/'),
                        b'b' => buf.push('\u{8}'),
                        b'f' => buf.push('\u{c}'),
                        b'n' => buf.push('\n'),
                        b'r' => buf.push('\r'),
                        b't' => buf.push('\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            buf.push(c);
                        }
                        _ => return None,
                    }
                    run_start = self.pos;
                }
                0..=0x1f => return None,
                _ => self.pos += 1,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.pos.checked_add(4)?;
        let text = self.s.get(self.pos..end)?;
        if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.pos = end;
        u32::from_str_radix(text, 16).ok()
    }

    /// After `\u`: one code point; a lone surrogate becomes U+FFFD, as Go decodes it.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xd800..0xdc00).contains(&first) {
            let save = self.pos;
            if self.b.get(self.pos..self.pos + 2) == Some(b"\\u".as_slice()) {
                self.pos += 2;
                if let Some(second) = self.hex4()
                    && (0xdc00..0xe000).contains(&second)
                {
                    let c = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
                    return Some(char::from_u32(c).unwrap_or('\u{fffd}'));
                }
                self.pos = save;
            }
            return Some('\u{fffd}');
        }
        Some(char::from_u32(first).unwrap_or('\u{fffd}'))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    #[test]
    fn keeps_repeated_keys_in_document_order() {
        let node = parse(br#"{"b":1,"a":2,"b":3}"#).unwrap();
        let RawNode::Object(members) = node else {
            panic!()
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
    }

    #[test]
    fn keeps_number_and_string_literal_text() {
        let node = parse(br#"[1.50, -0, 1e3, "a\u0062\n", "x"]"#).unwrap();
        let RawNode::Array(items) = node else {
            panic!()
        };
        assert_eq!(items[0], RawNode::Number("1.50"));
        assert_eq!(items[1], RawNode::Number("-0"));
        assert_eq!(items[2], RawNode::Number("1e3"));
        assert_eq!(
            items[3],
            RawNode::String(Cow::Owned("ab\n".to_owned()), "a\\u0062\\n")
        );
        assert_eq!(items[4], RawNode::String(Cow::Borrowed("x"), "x"));
    }

    #[test]
    fn decodes_surrogate_pairs_and_replaces_lone_surrogates() {
        let node = parse(br#"["\ud83d\ude00", "\ud800x"]"#).unwrap();
        let RawNode::Array(items) = node else {
            panic!()
        };
        assert_eq!(
            items[0],
            RawNode::String(Cow::Owned("😀".to_owned()), "\\ud83d\\ude00")
        );
        assert_eq!(
            items[1],
            RawNode::String(Cow::Owned("\u{fffd}x".to_owned()), "\\ud800x")
        );
    }

    #[test]
    fn rejects_invalid_documents() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\" 1}",
            b"[1,]",
            b"{\"a\":1,}",
            b"01",
            b"1.",
            b"-",
            b"tru",
            b"nul",
            b"\"a",
            b"\"\x01\"",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"{} {}",
            b"\xff",
            b"NaN",
            b"{'a':1}",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn refuses_nesting_beyond_the_limit_without_overflowing() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()), None);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_some());
    }
}
