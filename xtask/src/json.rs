//! Just enough JSON to read the robot's summary (xtask stays std-only, so it compiles in seconds).

use std::iter::Peekable;
use std::str::Chars;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(String, Value)>),
}

static NULL: Value = Value::Null;

impl Value {
    /// The member `key` of an object (`Null` if absent or not an object).
    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Obj(members) => members
                .iter()
                .find_map(|(k, v)| (k == key).then_some(v))
                .unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// The number, or NaN (which prints as such: a missing figure is never shown as 0).
    pub fn num(&self) -> f64 {
        match self {
            Value::Num(n) => *n,
            _ => f64::NAN,
        }
    }

    /// An object's members (empty for anything else).
    pub fn entries(&self) -> &[(String, Value)] {
        match self {
            Value::Obj(members) => members,
            _ => &[],
        }
    }
}

pub fn parse(text: &str) -> Result<Value, String> {
    let mut chars = text.chars().peekable();
    let value = value(&mut chars)?;
    skip_ws(&mut chars);
    match chars.next() {
        None => Ok(value),
        Some(c) => Err(format!("unexpected {c:?} after the JSON value")),
    }
}

fn skip_ws(chars: &mut Peekable<Chars<'_>>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

fn expect(chars: &mut Peekable<Chars<'_>>, word: &str) -> Result<(), String> {
    for expected in word.chars() {
        if chars.next() != Some(expected) {
            return Err(format!("expected {word:?}"));
        }
    }
    Ok(())
}

fn value(chars: &mut Peekable<Chars<'_>>) -> Result<Value, String> {
    skip_ws(chars);
    match chars.peek().copied() {
        Some('n') => expect(chars, "null").map(|()| Value::Null),
        Some('t') => expect(chars, "true").map(|()| Value::Bool(true)),
        Some('f') => expect(chars, "false").map(|()| Value::Bool(false)),
        Some('"') => string(chars).map(Value::Str),
        Some('[') => {
            chars.next();
            let mut items = Vec::new();
            skip_ws(chars);
            if chars.next_if_eq(&']').is_some() {
                return Ok(Value::Arr(items));
            }
            loop {
                items.push(value(chars)?);
                skip_ws(chars);
                match chars.next() {
                    Some(',') => {}
                    Some(']') => return Ok(Value::Arr(items)),
                    other => return Err(format!("expected , or ] in an array, got {other:?}")),
                }
            }
        }
        Some('{') => {
            chars.next();
            let mut members = Vec::new();
            skip_ws(chars);
            if chars.next_if_eq(&'}').is_some() {
                return Ok(Value::Obj(members));
            }
            loop {
                skip_ws(chars);
                let key = string(chars)?;
                skip_ws(chars);
                expect(chars, ":")?;
                members.push((key, value(chars)?));
                skip_ws(chars);
                match chars.next() {
                    Some(',') => {}
                    Some('}') => return Ok(Value::Obj(members)),
                    other => return Err(format!("expected , or }} in an object, got {other:?}")),
                }
            }
        }
        Some(c) if c == '-' || c.is_ascii_digit() => {
            let mut number = String::new();
            while let Some(c) =
                chars.next_if(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            {
                number.push(c);
            }
            number
                .parse()
                .map(Value::Num)
                .map_err(|_| format!("bad number {number:?}"))
        }
        other => Err(format!("unexpected {other:?}")),
    }
}

fn string(chars: &mut Peekable<Chars<'_>>) -> Result<String, String> {
    if chars.next() != Some('"') {
        return Err("expected a string".into());
    }
    let mut out = String::new();
    loop {
        match chars.next().ok_or("unterminated string")? {
            '"' => return Ok(out),
            '\\' => match chars.next().ok_or("unterminated escape")? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u escape")?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_robot_summary() {
        let summary = parse(
            r#"{"lifecycles_per_s": 512.5, "api": {"claim": {"count": 3, "p99_ms": 1.25e0}},
                "errors": {"queue_full": 2, "network": 1}, "server_rss_peak_bytes": null,
                "note": "caf\u00e9 \"ok\"", "list": [1, -2, true]}"#,
        )
        .expect("valid JSON");
        assert_eq!(summary.get("lifecycles_per_s").num(), 512.5);
        assert_eq!(summary.get("api").get("claim").get("p99_ms").num(), 1.25);
        assert_eq!(summary.get("errors").entries().len(), 2);
        assert!(summary.get("server_rss_peak_bytes").num().is_nan());
        assert!(summary.get("missing").get("deeper").num().is_nan());
        assert_eq!(summary.get("note"), &Value::Str("café \"ok\"".into()));
        assert_eq!(
            summary.get("list"),
            &Value::Arr(vec![Value::Num(1.0), Value::Num(-2.0), Value::Bool(true)])
        );
    }

    #[test]
    fn refuses_broken_json() {
        assert!(parse(r#"{"a": }"#).is_err());
        assert!(parse(r#"{"a": 1"#).is_err());
        assert!(parse("[1, 2] 3").is_err());
    }
}
