//! Schema-driven protobuf decoding and Go-compatible JSON rendering.
//!
//! Decoding is done in two passes, mirroring what kube-apiserver does (protobuf
//! into a Go struct, then `encoding/json` of that struct):
//!
//! 1. [`decode_message`] walks the wire format guided by a [`Message`] table and
//!    builds a sparse [`Decoded`] tree of the fields that were present, merging
//!    repeated occurrences of a singular message field as Go's generated code does.
//! 2. [`render_message`] turns that tree into JSON with Go's rules: non-pointer
//!    fields that were absent take their zero value, `omitempty` drops zero
//!    scalars and empty slices/maps, non-pointer structs are always emitted, nil
//!    pointers and nil slices without `omitempty` become `null`, embedded structs
//!    are flattened, and the well-known apimachinery types (`Time`, `MicroTime`,
//!    `Quantity`, `IntOrString`, `RawExtension`, `FieldsV1`, named slices such as
//!    `Verbs`) get their custom JSON forms.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::DecodeError;

/// The Go field has `omitempty` in its `json` tag.
pub(super) const F_OMITEMPTY: u8 = 1;
/// The Go field is a pointer (or a named slice type): absent means nil.
pub(super) const F_POINTER: u8 = 2;
/// The Go field is an embedded struct whose fields JSON flattens into the parent.
pub(super) const F_INLINE: u8 = 4;

/// Deepest nesting of messages (and of objects embedded in `RawExtension`s).
const MAX_DEPTH: usize = 100;
/// JSON values a body may produce: this many per body byte, plus [`NODE_ALLOWANCE`].
/// Go-encoded objects produce well under one value per byte (Go writes every
/// non-pointer field, even empty ones); the cap stops bodies of many tiny empty
/// messages from expanding into a huge JSON tree.
const NODES_PER_BYTE: usize = 1;
/// JSON values every body may produce regardless of its size.
const NODE_ALLOWANCE: usize = 4096;

/// The protobuf type of a field (of its elements for repeated fields, of its
/// values for maps).
#[derive(Clone, Copy)]
pub(super) enum Ty {
    /// `string`.
    String,
    /// `bytes` (`[]byte` in Go, base64 in JSON).
    Bytes,
    /// `bool`.
    Bool,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// An embedded message.
    Msg(&'static Message),
}

/// Whether a field is singular, repeated, or a `map<string, _>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `optional`.
    One,
    /// `repeated`.
    Repeated,
    /// `map<string, Ty>`.
    Map,
}

/// How a message is rendered as JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Render {
    /// A JSON object of its fields.
    Struct,
    /// `metav1.Time`: RFC 3339 seconds, `null` when zero.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with microseconds, `null` when zero.
    MicroTime,
    /// `resource.Quantity`: its string.
    Quantity,
    /// `intstr.IntOrString`: a number or a string.
    IntOrString,
    /// `runtime.RawExtension`, `metav1.FieldsV1`: field 1 holds raw JSON.
    RawJson,
    /// A Go named slice (`type Verbs []string`): field 1 holds the items.
    List,
}

/// One field of a message.
pub(super) struct Field {
    /// The protobuf field number.
    pub(super) number: u32,
    /// The JSON name (empty for inlined fields).
    pub(super) json: &'static str,
    /// The type of the value (of each element / map value).
    pub(super) ty: Ty,
    /// Singular, repeated or map.
    pub(super) shape: Shape,
    /// `F_*` bits.
    pub(super) flags: u8,
}

/// A protobuf message and how its Go type is written as JSON.
pub(super) struct Message {
    /// Fully qualified protobuf name, for error messages.
    pub(super) name: &'static str,
    /// How it is rendered.
    pub(super) render: Render,
    /// Its fields, in Go struct order (the JSON order).
    pub(super) fields: &'static [Field],
}

impl Message {
    fn field_index(&self, number: u64) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| u64::from(f.number) == number)
    }

    fn short_name(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }
}

/// A decoded field value.
#[derive(Debug)]
enum Val {
    Str(String),
    Bytes(Vec<u8>),
    Bool(bool),
    I32(i32),
    I64(i64),
    Msg(Decoded),
    List(Vec<Val>),
    Map(BTreeMap<String, Val>),
}

/// The fields present in one decoded message, by index into `Message::fields`.
#[derive(Debug, Default)]
pub(super) struct Decoded {
    slots: Vec<(usize, Val)>,
}

impl Decoded {
    fn get(&self, index: usize) -> Option<&Val> {
        self.slots.iter().find(|(i, _)| *i == index).map(|(_, v)| v)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Val> {
        self.slots
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, v)| v)
    }

    fn set(&mut self, index: usize, val: Val) {
        match self.slot_mut(index) {
            Some(slot) => *slot = val,
            None => self.slots.push((index, val)),
        }
    }

    fn by_number(&self, msg: &Message, number: u64) -> Option<&Val> {
        msg.field_index(number).and_then(|i| self.get(i))
    }
}

// ---------------------------------------------------------------------------
// Wire format

const WT_VARINT: u64 = 0;
const WT_FIXED64: u64 = 1;
const WT_LEN: u64 = 2;
const WT_START_GROUP: u64 = 3;
const WT_END_GROUP: u64 = 4;
const WT_FIXED32: u64 = 5;

fn malformed(msg: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(msg.into())
}

fn eof() -> DecodeError {
    malformed("unexpected end of protobuf data")
}

/// A cursor over protobuf bytes; every read is bounds-checked.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A base-128 varint of at most 10 bytes (bits past 64 are dropped, as Go does).
    pub(super) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(eof)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(malformed("protobuf varint is longer than 10 bytes"))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
        let remaining = self.buf.len() - self.pos.min(self.buf.len());
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= remaining)
            .ok_or_else(eof)?;
        let out = self.buf.get(self.pos..self.pos + len).ok_or_else(eof)?;
        self.pos += len;
        Ok(out)
    }

    /// A length-delimited payload.
    pub(super) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        self.take(len)
    }

    /// A field key: `(field number, wire type)`.
    pub(super) fn key(&mut self) -> Result<(u64, u64), DecodeError> {
        let key = self.varint()?;
        let (number, wire_type) = (key >> 3, key & 7);
        if number == 0 {
            return Err(malformed(format!(
                "illegal protobuf field number 0 (wire type {wire_type})"
            )));
        }
        if wire_type == WT_END_GROUP {
            return Err(malformed("unexpected protobuf end-group"));
        }
        Ok((number, wire_type))
    }

    /// Skips the value of an unknown field (including nested groups).
    pub(super) fn skip(&mut self, wire_type: u64) -> Result<(), DecodeError> {
        let mut groups: usize = 0;
        let mut wire_type = wire_type;
        loop {
            match wire_type {
                WT_VARINT => {
                    self.varint()?;
                }
                WT_FIXED64 => {
                    self.take(8)?;
                }
                WT_LEN => {
                    self.bytes()?;
                }
                WT_START_GROUP => groups += 1,
                WT_END_GROUP => {
                    groups = groups
                        .checked_sub(1)
                        .ok_or_else(|| malformed("unexpected protobuf end-group"))?;
                }
                WT_FIXED32 => {
                    self.take(4)?;
                }
                other => return Err(malformed(format!("illegal protobuf wire type {other}"))),
            }
            if groups == 0 {
                return Ok(());
            }
            let key = self.varint()?;
            if key >> 3 == 0 {
                return Err(malformed("illegal protobuf field number 0"));
            }
            wire_type = key & 7;
        }
    }
}

// ---------------------------------------------------------------------------
// Pass 1: wire -> Decoded

fn expected_wire_type(ty: Ty) -> u64 {
    match ty {
        Ty::Bool | Ty::Int32 | Ty::Int64 => WT_VARINT,
        Ty::String | Ty::Bytes | Ty::Msg(_) => WT_LEN,
    }
}

fn wrong_wire_type(msg: &Message, field: &Field, wire_type: u64) -> DecodeError {
    malformed(format!(
        "wrong protobuf wire type {wire_type} for field {} ({}) of {}",
        field.number,
        field.json,
        msg.short_name()
    ))
}

/// `string(bytes)` as Go's `encoding/json` writes it: each invalid byte becomes U+FFFD.
fn go_string(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len()).max(1).min(rest.len());
                out.extend(std::iter::repeat_n('\u{fffd}', bad));
                bytes = rest.get(bad..).unwrap_or_default();
            }
        }
    }
}

/// Reads one scalar whose wire type has been checked.
fn scalar(ty: Ty, r: &mut Reader<'_>) -> Result<Val, DecodeError> {
    // `as` truncates exactly like Go's generated code, which accumulates the
    // varint into the field's own integer type.
    Ok(match ty {
        Ty::Bool => Val::Bool(r.varint()? != 0),
        Ty::Int32 => Val::I32(r.varint()? as i32),
        Ty::Int64 => Val::I64(r.varint()? as i64),
        Ty::String => Val::Str(go_string(r.bytes()?)),
        Ty::Bytes => Val::Bytes(r.bytes()?.to_vec()),
        Ty::Msg(_) => return Err(malformed("internal: message read as scalar")),
    })
}

/// Reads one value of `ty` (a fresh message for `Ty::Msg`).
fn value(ty: Ty, r: &mut Reader<'_>, depth: usize) -> Result<Val, DecodeError> {
    match ty {
        Ty::Msg(m) => {
            let mut d = Decoded::default();
            decode_message(m, r.bytes()?, &mut d, depth + 1)?;
            Ok(Val::Msg(d))
        }
        _ => scalar(ty, r),
    }
}

fn zero(ty: Ty) -> Val {
    match ty {
        Ty::String => Val::Str(String::new()),
        Ty::Bytes => Val::Bytes(Vec::new()),
        Ty::Bool => Val::Bool(false),
        Ty::Int32 => Val::I32(0),
        Ty::Int64 => Val::I64(0),
        Ty::Msg(_) => Val::Msg(Decoded::default()),
    }
}

/// Decodes one `map<string, ty>` entry message.
fn map_entry(ty: Ty, bytes: &[u8], depth: usize) -> Result<(String, Val), DecodeError> {
    let mut r = Reader::new(bytes);
    let mut key = String::new();
    let mut val = None;
    while !r.is_empty() {
        let (number, wire_type) = r.key()?;
        match number {
            1 if wire_type == WT_LEN => key = go_string(r.bytes()?),
            2 if wire_type == expected_wire_type(ty) => val = Some(value(ty, &mut r, depth)?),
            1 | 2 => {
                return Err(malformed(format!(
                    "wrong protobuf wire type {wire_type} in map entry"
                )));
            }
            _ => r.skip(wire_type)?,
        }
    }
    Ok((key, val.unwrap_or_else(|| zero(ty))))
}

/// Decodes `bytes` as `msg`, merging into `into`.
pub(super) fn decode_message(
    msg: &'static Message,
    bytes: &[u8],
    into: &mut Decoded,
    depth: usize,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::LimitExceeded(
            "protobuf messages are nested too deeply",
        ));
    }
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let (number, wire_type) = r.key()?;
        let Some(index) = msg.field_index(number) else {
            r.skip(wire_type)?;
            continue;
        };
        let Some(field) = msg.fields.get(index) else {
            r.skip(wire_type)?;
            continue;
        };
        let expected = expected_wire_type(field.ty);
        match field.shape {
            Shape::One => {
                if wire_type != expected {
                    return Err(wrong_wire_type(msg, field, wire_type));
                }
                match field.ty {
                    Ty::Msg(m) => {
                        let sub = r.bytes()?;
                        match into.slot_mut(index) {
                            Some(Val::Msg(existing)) => {
                                decode_message(m, sub, existing, depth + 1)?
                            }
                            _ => {
                                let mut d = Decoded::default();
                                decode_message(m, sub, &mut d, depth + 1)?;
                                into.set(index, Val::Msg(d));
                            }
                        }
                    }
                    ty => {
                        let v = scalar(ty, &mut r)?;
                        into.set(index, v);
                    }
                }
            }
            Shape::Repeated => {
                let mut items = Vec::new();
                if wire_type == expected {
                    items.push(value(field.ty, &mut r, depth)?);
                } else if wire_type == WT_LEN && expected == WT_VARINT {
                    // Packed encoding of repeated numbers.
                    let mut packed = Reader::new(r.bytes()?);
                    while !packed.is_empty() {
                        items.push(scalar(field.ty, &mut packed)?);
                    }
                } else {
                    return Err(wrong_wire_type(msg, field, wire_type));
                }
                match into.slot_mut(index) {
                    Some(Val::List(existing)) => existing.extend(items),
                    _ => into.set(index, Val::List(items)),
                }
            }
            Shape::Map => {
                if wire_type != WT_LEN {
                    return Err(wrong_wire_type(msg, field, wire_type));
                }
                let (key, val) = map_entry(field.ty, r.bytes()?, depth)?;
                match into.slot_mut(index) {
                    Some(Val::Map(existing)) => {
                        existing.insert(key, val);
                    }
                    _ => into.set(index, Val::Map(BTreeMap::from([(key, val)]))),
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Pass 2: Decoded -> JSON

/// State shared by one whole decode: the output budget.
pub(super) struct Ctx {
    nodes_left: usize,
}

impl Ctx {
    /// A budget for a body of `body_len` bytes.
    pub(super) fn for_body(body_len: usize) -> Self {
        Self {
            nodes_left: body_len
                .saturating_mul(NODES_PER_BYTE)
                .saturating_add(NODE_ALLOWANCE),
        }
    }

    fn spend(&mut self, n: usize) -> Result<(), DecodeError> {
        self.nodes_left = self
            .nodes_left
            .checked_sub(n)
            .ok_or(DecodeError::LimitExceeded(
                "protobuf body expands into too large an object",
            ))?;
        Ok(())
    }
}

/// Decodes a nested `k8s\0`-prefixed object found in a raw field.
pub(super) type NestedDecoder = fn(&[u8], usize, &mut Ctx) -> Result<Value, DecodeError>;

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| {
        ALPHABET
            .get((i & 63) as usize)
            .map_or('=', |b| char::from(*b))
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| chunk.get(i).copied().unwrap_or(0);
        let b = [byte(0), byte(1), byte(2)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds of 0001-01-01T00:00:00Z, Go's zero `time.Time`.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

/// RFC 3339 in UTC, with `micros` fractional digits when given.
fn rfc3339(unix: i64, micros: Option<i64>) -> Result<String, DecodeError> {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(malformed(format!("timestamp {unix} is out of range")));
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    Ok(match micros {
        Some(us) => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z"),
        None => format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z"),
    })
}

fn int_of(v: Option<&Val>) -> i64 {
    match v {
        Some(Val::I64(n)) => *n,
        Some(Val::I32(n)) => i64::from(*n),
        _ => 0,
    }
}

/// `metav1.Time` / `metav1.MicroTime` as Go unmarshals and then marshals them.
fn render_time(msg: &Message, d: Option<&Decoded>, micro: bool) -> Result<Value, DecodeError> {
    // An empty payload is the zero time (Go's Unmarshal checks `len(data) == 0`).
    let Some(d) = d.filter(|d| !d.slots.is_empty()) else {
        return Ok(Value::Null);
    };
    let seconds = int_of(d.by_number(msg, 1));
    let (unix, micros) = if micro {
        // time.Unix(seconds, Duration(nanos).Truncate(Microsecond))
        let nanos = int_of(d.by_number(msg, 2));
        let nanos = nanos - nanos % 1000;
        let unix = seconds
            .checked_add(nanos.div_euclid(1_000_000_000))
            .ok_or_else(|| malformed("timestamp is out of range"))?;
        (unix, Some(nanos.rem_euclid(1_000_000_000) / 1000))
    } else {
        // Time ignores nanos entirely.
        (seconds, None)
    };
    if unix == GO_ZERO_TIME_UNIX && micros.unwrap_or(0) == 0 {
        return Ok(Value::Null);
    }
    rfc3339(unix, micros).map(Value::String)
}

fn render_scalar(v: &Val) -> Value {
    match v {
        Val::Str(s) => Value::String(s.clone()),
        Val::Bytes(b) => Value::String(base64(b)),
        Val::Bool(b) => Value::Bool(*b),
        Val::I32(n) => Value::from(*n),
        Val::I64(n) => Value::from(*n),
        Val::Msg(_) | Val::List(_) | Val::Map(_) => Value::Null,
    }
}

fn render_value(
    ty: Ty,
    v: &Val,
    ctx: &mut Ctx,
    nested: NestedDecoder,
    depth: usize,
) -> Result<Value, DecodeError> {
    match (ty, v) {
        (Ty::Msg(m), Val::Msg(d)) => render_message(m, Some(d), ctx, nested, depth + 1),
        (Ty::Msg(m), _) => render_message(m, None, ctx, nested, depth + 1),
        (_, v) => {
            ctx.spend(1)?;
            Ok(render_scalar(v))
        }
    }
}

fn is_zero(v: &Val) -> bool {
    match v {
        Val::Str(s) => s.is_empty(),
        Val::Bytes(b) => b.is_empty(),
        Val::Bool(b) => !b,
        Val::I32(n) => *n == 0,
        Val::I64(n) => *n == 0,
        Val::Msg(_) => false,
        Val::List(l) => l.is_empty(),
        Val::Map(m) => m.is_empty(),
    }
}

/// Renders `msg` (absent = Go's zero value) as JSON.
pub(super) fn render_message(
    msg: &'static Message,
    d: Option<&Decoded>,
    ctx: &mut Ctx,
    nested: NestedDecoder,
    depth: usize,
) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::LimitExceeded(
            "protobuf messages are nested too deeply",
        ));
    }
    ctx.spend(1)?;
    let field1 = d.and_then(|d| d.by_number(msg, 1));
    match msg.render {
        Render::Struct => {
            let mut out = Map::new();
            render_fields(msg, d, &mut out, ctx, nested, depth)?;
            Ok(Value::Object(out))
        }
        Render::Time => render_time(msg, d, false),
        Render::MicroTime => render_time(msg, d, true),
        Render::Quantity => Ok(Value::String(match field1 {
            Some(Val::Str(s)) => s.clone(),
            // The zero Quantity marshals as "0".
            _ => "0".to_owned(),
        })),
        Render::IntOrString => {
            let d2 = d.and_then(|d| d.by_number(msg, 2));
            let d3 = d.and_then(|d| d.by_number(msg, 3));
            match int_of(field1) {
                0 => Ok(Value::from(int_of(d2))),
                1 => Ok(Value::String(match d3 {
                    Some(Val::Str(s)) => s.clone(),
                    _ => String::new(),
                })),
                other => Err(malformed(format!("invalid IntOrString type {other}"))),
            }
        }
        Render::RawJson => match field1 {
            Some(Val::Bytes(raw)) => {
                if raw.starts_with(super::MAGIC) {
                    return nested(raw, depth + 1, ctx);
                }
                let v: Value = serde_json::from_slice(raw).map_err(|e| {
                    malformed(format!(
                        "{} does not hold valid JSON: {e}",
                        msg.short_name()
                    ))
                })?;
                ctx.spend(count_nodes(&v))?;
                Ok(v)
            }
            _ => Ok(Value::Null),
        },
        Render::List => match field1 {
            Some(Val::List(items)) => {
                ctx.spend(items.len())?;
                Ok(Value::Array(items.iter().map(render_scalar).collect()))
            }
            _ => Ok(Value::Null),
        },
    }
}

/// Writes the JSON fields of struct `msg` into `out` (inlined structs flatten into it).
fn render_fields(
    msg: &'static Message,
    d: Option<&Decoded>,
    out: &mut Map<String, Value>,
    ctx: &mut Ctx,
    nested: NestedDecoder,
    depth: usize,
) -> Result<(), DecodeError> {
    for (index, field) in msg.fields.iter().enumerate() {
        let v = d.and_then(|d| d.get(index));
        let omitempty = field.flags & F_OMITEMPTY != 0;
        let pointer = field.flags & F_POINTER != 0;
        if field.flags & F_INLINE != 0 {
            if let Ty::Msg(m) = field.ty {
                match v {
                    Some(Val::Msg(sub)) => {
                        render_fields(m, Some(sub), out, ctx, nested, depth + 1)?
                    }
                    _ if !pointer => render_fields(m, None, out, ctx, nested, depth + 1)?,
                    _ => {}
                }
            }
            continue;
        }
        let rendered = match (field.shape, v) {
            // nil slice / map / pointer / []byte
            (_, None) if pointer || field.shape != Shape::One || matches!(field.ty, Ty::Bytes) => {
                if omitempty {
                    continue;
                }
                ctx.spend(1)?;
                Value::Null
            }
            (Shape::Repeated, Some(Val::List(items))) => {
                if items.is_empty() && omitempty {
                    continue;
                }
                ctx.spend(1)?;
                let mut arr = Vec::with_capacity(items.len());
                for item in items {
                    arr.push(render_value(field.ty, item, ctx, nested, depth)?);
                }
                Value::Array(arr)
            }
            (Shape::Map, Some(Val::Map(entries))) => {
                if entries.is_empty() && omitempty {
                    continue;
                }
                ctx.spend(1)?;
                let mut obj = Map::new();
                for (k, item) in entries {
                    obj.insert(k.clone(), render_value(field.ty, item, ctx, nested, depth)?);
                }
                Value::Object(obj)
            }
            (Shape::One, Some(Val::Msg(sub))) => match field.ty {
                Ty::Msg(m) => {
                    let value = render_message(m, Some(sub), ctx, nested, depth + 1)?;
                    // A named slice (e.g. `Verbs`) honours omitempty like a slice.
                    if omitempty
                        && m.render == Render::List
                        && value.as_array().is_none_or(Vec::is_empty)
                    {
                        continue;
                    }
                    value
                }
                _ => return Err(malformed("internal: message value for a scalar field")),
            },
            (Shape::One, None) => match field.ty {
                // Absent non-pointer struct: Go's zero value, always emitted.
                Ty::Msg(m) => render_message(m, None, ctx, nested, depth + 1)?,
                ty => {
                    if omitempty {
                        continue;
                    }
                    ctx.spend(1)?;
                    render_scalar(&zero(ty))
                }
            },
            (Shape::One, Some(val)) => {
                if omitempty && !pointer && is_zero(val) {
                    continue;
                }
                ctx.spend(1)?;
                render_scalar(val)
            }
            _ => return Err(malformed("internal: value does not match its field shape")),
        };
        out.insert(field.json.to_owned(), rendered);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_go_std_encoding_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"v"), "dg==");
        assert_eq!(base64(b"va"), "dmE=");
        assert_eq!(base64(b"val"), "dmFs");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0x00]), "//79AA==");
    }

    #[test]
    fn rfc3339_formats_utc_seconds_and_micros() {
        assert_eq!(
            rfc3339(0, None).ok().as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(1_700_000_000, None).ok().as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(
            rfc3339(951_782_400, Some(42)).ok().as_deref(),
            Some("2000-02-29T00:00:00.000042Z")
        );
        assert_eq!(
            rfc3339(-1, None).ok().as_deref(),
            Some("1969-12-31T23:59:59Z")
        );
        assert_eq!(
            rfc3339(253_402_300_799, None).ok().as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
    }

    #[test]
    fn rfc3339_rejects_years_outside_four_digits() {
        assert!(rfc3339(253_402_300_800, None).is_err());
        assert!(rfc3339(i64::MAX, None).is_err());
        assert!(rfc3339(i64::MIN, None).is_err());
    }

    #[test]
    fn go_string_replaces_each_invalid_byte_like_encoding_json() {
        assert_eq!(go_string(b"ok"), "ok");
        assert_eq!(go_string(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(go_string(b"\xe2\x82"), "\u{fffd}\u{fffd}");
        assert_eq!(go_string("é".as_bytes()), "é");
    }

    #[test]
    fn varint_rejects_more_than_ten_bytes_and_truncation() {
        let long = [0x80u8; 11];
        assert!(Reader::new(&long).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint().ok(), Some(u64::MAX));
    }

    #[test]
    fn huge_length_prefix_is_an_error_not_an_allocation() {
        let huge = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00,
        ];
        assert!(Reader::new(&huge).bytes().is_err());
    }

    #[test]
    fn skip_handles_nested_groups_and_rejects_unbalanced_ones() {
        // start group 1, varint field 2, start group 3, end group 3, end group 1
        let mut r = Reader::new(&[0x10, 0x05, 0x1b, 0x1c, 0x0c]);
        assert!(r.skip(WT_START_GROUP).is_ok());
        assert!(r.is_empty());
        assert!(Reader::new(&[0x10, 0x05]).skip(WT_START_GROUP).is_err());
        assert!(Reader::new(&[]).skip(7).is_err());
    }
}
