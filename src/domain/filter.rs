//! Payload filters: which events a webhook gets, by what their `data` holds. A filter is JSON,
//! parsed once (when a webhook is saved) into a `Filter` that matches without allocating.
//!
//! - `{"a.b": v}`: the value at the dotted path `a.b` equals `v` (an array there matches when it
//!   holds `v`; a path through an array looks into each element; a number segment picks one).
//! - `{"a": {"$gt": 5, "$lt": 10}}`: operators, all of which must hold: `$eq $ne $gt $gte $lt
//!   $lte $in $nin $exists $regex`.
//! - `{"$and": [f, …]}`, `{"$or": [f, …]}`; several keys in one object must all hold.
//!
//! Numbers compare as numbers (`5` equals `5.0`), strings as strings, and never with each
//! other (`"5"` is not `5`). A missing path matches only `$ne`, `$nin` and `$exists: false`.
//! Regexes are the `regex` crate's (linear time), at most 256 characters. A filter is at most
//! 4 KiB of JSON and 8 levels deep; a bad one is refused naming its path and operator.

use serde_json::Value;

pub const MAX_BYTES: usize = 4 * 1024;
pub const MAX_DEPTH: usize = 8;
pub const MAX_REGEX_CHARS: usize = 256;
/// The compiled regex may take at most this much memory.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// A filter as parsed: it keeps its source for storing and showing.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    source: Value,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Field(Vec<Segment>, Op),
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    /// A segment of digits: an element of an array, or a key of an object.
    Index(usize, String),
}

#[derive(Debug, Clone)]
enum Op {
    Eq(Value),
    Ne(Value),
    Cmp(Ordering, Bound),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    Regex(Box<regex::Regex>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ordering {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
enum Bound {
    Number(f64),
    Text(String),
}

/// What is wrong with a filter: where (`$and[1].amount`), which operator, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub path: String,
    pub operator: Option<String>,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "the filter".to_owned()
        } else {
            format!("`{}`", self.path)
        };
        match &self.operator {
            Some(op) => write!(f, "{at}, {op}: {}", self.message),
            None => write!(f, "{at}: {}", self.message),
        }
    }
}

fn error(path: &str, operator: Option<&str>, message: impl Into<String>) -> FilterError {
    FilterError {
        path: path.to_owned(),
        operator: operator.map(str::to_owned),
        message: message.into(),
    }
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

/// Levels of a filter: objects inside objects (a list, such as `$and`'s, is no level of its own).
fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Filter {
    /// Parses a filter (a JSON object), or says what is wrong with it.
    pub fn parse(source: &Value) -> Result<Filter, FilterError> {
        let bytes = serde_json::to_vec(source).map_or(usize::MAX, |b| b.len());
        if bytes > MAX_BYTES {
            return Err(error(
                "",
                None,
                format!("a filter is at most {MAX_BYTES} bytes of JSON; this one is {bytes}"),
            ));
        }
        if depth(source) > MAX_DEPTH {
            return Err(error(
                "",
                None,
                format!("a filter is at most {MAX_DEPTH} levels deep"),
            ));
        }
        let root = parse_object(source, "")?;
        Ok(Filter {
            root,
            source: source.clone(),
        })
    }

    /// A filter written as JSON text (as typed, sent or stored): None when empty or `null`.
    pub fn parse_text(raw: &str) -> Result<Option<Filter>, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "null" {
            return Ok(None);
        }
        let value: Value =
            serde_json::from_str(raw).map_err(|e| format!("The filter is not JSON: {e}"))?;
        Filter::parse(&value)
            .map(Some)
            .map_err(|e| format!("In {e}"))
    }

    /// The filter as it was written (what is stored and shown).
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether an event's `data` matches.
    pub fn matches(&self, data: &Value) -> bool {
        self.root.matches(data)
    }
}

fn parse_object(v: &Value, at: &str) -> Result<Node, FilterError> {
    let Value::Object(map) = v else {
        return Err(error(at, None, "a filter is a JSON object"));
    };
    let mut all = Vec::with_capacity(map.len());
    for (key, value) in map {
        match key.as_str() {
            "$and" | "$or" => {
                let here = join(at, key);
                let Value::Array(items) = value else {
                    return Err(error(&here, Some(key), "takes a list of filters"));
                };
                if items.is_empty() {
                    return Err(error(&here, Some(key), "takes at least one filter"));
                }
                let nodes = items
                    .iter()
                    .enumerate()
                    .map(|(i, f)| parse_object(f, &format!("{here}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                all.push(if key == "$and" {
                    Node::All(nodes)
                } else {
                    Node::Any(nodes)
                });
            }
            op if op.starts_with('$') => {
                return Err(error(
                    &join(at, key),
                    Some(op),
                    "is not an operator here: at the top of a filter only $and and $or are; \
                     others go under a path, as {\"path\": {\"$gt\": 5}}",
                ));
            }
            path => all.extend(parse_field(path, value, &join(at, key))?),
        }
    }
    Ok(match all.len() {
        1 => all.pop().unwrap_or(Node::All(Vec::new())),
        _ => Node::All(all),
    })
}

fn parse_path(path: &str, at: &str) -> Result<Vec<Segment>, FilterError> {
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(error(
            at,
            None,
            "a path is keys separated by dots, e.g. contact.email",
        ));
    }
    Ok(path
        .split('.')
        .map(|s| match s.parse::<usize>() {
            Ok(i) if s.bytes().all(|b| b.is_ascii_digit()) => Segment::Index(i, s.to_owned()),
            _ => Segment::Key(s.to_owned()),
        })
        .collect())
}

fn parse_field(path: &str, value: &Value, at: &str) -> Result<Vec<Node>, FilterError> {
    let segments = parse_path(path, at)?;
    let ops = match value {
        Value::Object(m) if m.keys().any(|k| k.starts_with('$')) => {
            if let Some(plain) = m.keys().find(|k| !k.starts_with('$')) {
                return Err(error(
                    at,
                    None,
                    format!(
                        "mixes operators and a plain key ({plain}): write operators alone, or \
                         an object to compare with"
                    ),
                ));
            }
            m.iter()
                .map(|(op, arg)| parse_op(op, arg, &join(at, op)))
                .collect::<Result<Vec<_>, _>>()?
        }
        literal => vec![Op::Eq(literal.clone())],
    };
    Ok(ops
        .into_iter()
        .map(|op| Node::Field(segments.clone(), op))
        .collect())
}

fn bound(arg: &Value, at: &str, op: &str) -> Result<Bound, FilterError> {
    match arg {
        Value::Number(n) => n
            .as_f64()
            .map(Bound::Number)
            .ok_or_else(|| error(at, Some(op), "takes a number or a string")),
        Value::String(s) => Ok(Bound::Text(s.clone())),
        _ => Err(error(at, Some(op), "takes a number or a string")),
    }
}

fn list(arg: &Value, at: &str, op: &str) -> Result<Vec<Value>, FilterError> {
    match arg {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(error(at, Some(op), "takes a list of values")),
    }
}

fn parse_op(op: &str, arg: &Value, at: &str) -> Result<Op, FilterError> {
    Ok(match op {
        "$eq" => Op::Eq(arg.clone()),
        "$ne" => Op::Ne(arg.clone()),
        "$gt" => Op::Cmp(Ordering::Gt, bound(arg, at, op)?),
        "$gte" => Op::Cmp(Ordering::Gte, bound(arg, at, op)?),
        "$lt" => Op::Cmp(Ordering::Lt, bound(arg, at, op)?),
        "$lte" => Op::Cmp(Ordering::Lte, bound(arg, at, op)?),
        "$in" => Op::In(list(arg, at, op)?),
        "$nin" => Op::Nin(list(arg, at, op)?),
        "$exists" => match arg {
            Value::Bool(b) => Op::Exists(*b),
            _ => return Err(error(at, Some(op), "takes true or false")),
        },
        "$regex" => {
            let Value::String(pattern) = arg else {
                return Err(error(
                    at,
                    Some(op),
                    "takes a regular expression, as a string",
                ));
            };
            if pattern.chars().count() > MAX_REGEX_CHARS {
                return Err(error(
                    at,
                    Some(op),
                    format!("a regular expression is at most {MAX_REGEX_CHARS} characters"),
                ));
            }
            let compiled = regex::RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    let why = match e {
                        regex::Error::CompiledTooBig(_) => {
                            "the regular expression is too large once compiled".to_owned()
                        }
                        other => {
                            let text = other.to_string();
                            let last = text.lines().last().unwrap_or_default().trim();
                            let last = last.strip_prefix("error: ").unwrap_or(last);
                            format!("not a valid regular expression: {last}")
                        }
                    };
                    error(at, Some(op), why)
                })?;
            Op::Regex(Box::new(compiled))
        }
        other => {
            return Err(error(
                at,
                Some(other),
                "is not an operator (use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex)",
            ));
        }
    })
}

/// Calls `visit` with every value at `path` in `v` (an array on the way is looked into; an
/// array at the end is visited whole and element by element). Stops when `visit` says so.
fn each_at(v: &Value, path: &[Segment], visit: &mut dyn FnMut(&Value) -> bool) -> bool {
    let Some((first, rest)) = path.split_first() else {
        if visit(v) {
            return true;
        }
        if let Value::Array(items) = v {
            return items.iter().any(&mut *visit);
        }
        return false;
    };
    match (v, first) {
        (Value::Object(m), Segment::Key(k) | Segment::Index(_, k)) => {
            m.get(k).is_some_and(|next| each_at(next, rest, visit))
        }
        (Value::Array(items), Segment::Index(i, _)) => {
            items.get(*i).is_some_and(|next| each_at(next, rest, visit))
        }
        (Value::Array(items), Segment::Key(_)) => {
            items.iter().any(|item| each_at(item, path, visit))
        }
        _ => false,
    }
}

/// Equality of JSON values, numbers by value (`5` = `5.0`), never across types.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

fn compare(v: &Value, ord: Ordering, bound: &Bound) -> bool {
    let o = match (v, bound) {
        (Value::Number(n), Bound::Number(b)) => n.as_f64().and_then(|n| n.partial_cmp(b)),
        (Value::String(s), Bound::Text(b)) => Some(s.as_str().cmp(b.as_str())),
        _ => None,
    };
    use std::cmp::Ordering as O;
    matches!(
        (o, ord),
        (Some(O::Greater), Ordering::Gt | Ordering::Gte)
            | (Some(O::Less), Ordering::Lt | Ordering::Lte)
            | (Some(O::Equal), Ordering::Gte | Ordering::Lte)
    )
}

impl Node {
    fn matches(&self, data: &Value) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(data)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(data)),
            Node::Field(path, op) => {
                let any = |pred: &dyn Fn(&Value) -> bool| each_at(data, path, &mut |v| pred(v));
                match op {
                    Op::Eq(want) => any(&|v| same(v, want)),
                    Op::Ne(want) => !any(&|v| same(v, want)),
                    Op::Cmp(ord, bound) => any(&|v| compare(v, *ord, bound)),
                    Op::In(list) => any(&|v| list.iter().any(|w| same(v, w))),
                    Op::Nin(list) => !any(&|v| list.iter().any(|w| same(v, w))),
                    Op::Exists(want) => any(&|_| true) == *want,
                    Op::Regex(re) => any(&|v| v.as_str().is_some_and(|s| re.is_match(s))),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
