//! A bounded, entity-free reading of cluster.conf into a small element tree.
//!
//! cluster.conf is plain XML without a DTD. Anything that could make a parser read files,
//! fetch URLs or expand entities (a `<!DOCTYPE>` with its internal subset, entity
//! references other than the five predefined ones) is refused, as are inputs beyond fixed
//! limits of size, depth and number of elements: the importer is often run on files
//! received from elsewhere.

use quick_xml::events::Event;
use std::fmt;

/// Largest input accepted (bytes). Real cluster.conf files are a few KiB.
pub const MAX_INPUT: usize = 4 << 20;
/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted.
pub const MAX_ELEMENTS: usize = 50_000;
/// Longest attribute value accepted (bytes).
pub const MAX_VALUE: usize = 4096;

/// One element: name, attributes in document order, children, line of its start tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Elem>,
    pub line: usize,
}

impl Elem {
    /// The value of attribute `k`.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// Children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Why the input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub line: usize,
    pub msg: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.msg)
        } else {
            write!(f, "{}", self.msg)
        }
    }
}

fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parse `bytes` into its root element.
///
/// # Errors
/// Not UTF-8, too large, not well-formed, a DOCTYPE, an unknown entity, a control character
/// in an attribute value, or beyond the limits above.
pub fn parse(bytes: &[u8]) -> Result<Elem, XmlError> {
    let err = |line: usize, msg: String| XmlError { line, msg };
    if bytes.len() > MAX_INPUT {
        return Err(err(
            0,
            format!(
                "input is larger than {} MiB; a cluster.conf is a few KiB: refusing it",
                MAX_INPUT >> 20
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_of(
            &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        err(line, "input is not UTF-8 text".into())
    })?;
    let mut r = quick_xml::Reader::from_str(text);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    let mut count = 0usize;
    // Line numbers counted incrementally (positions only grow): linear in the input.
    let (mut seen, mut lines) = (0usize, 1usize);
    loop {
        let pos = (r.buffer_position() as usize).min(text.len());
        if pos > seen {
            lines += text.as_bytes()[seen..pos]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            seen = pos;
        }
        let ev = r.read_event().map_err(|e| {
            err(
                line_of(text, r.error_position() as usize),
                format!("not well-formed XML: {e}"),
            )
        })?;
        let line = lines;
        let (start, empty) = match ev {
            Event::Eof => break,
            Event::DocType(_) => {
                return Err(err(
                    line,
                    "<!DOCTYPE> is not accepted: cluster.conf has none, and its entity \
                     declarations could expand without bound or read other files"
                        .into(),
                ))
            }
            Event::Start(e) => (e.into_owned(), false),
            Event::Empty(e) => (e.into_owned(), true),
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| err(line, "end tag without a start tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
                continue;
            }
            Event::Text(t) => {
                // Element text is not used by cluster.conf; it must still be well-formed
                // (no undeclared entities).
                t.unescape().map_err(|e| err(line, format!("text: {e}")))?;
                if stack.is_empty() && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(err(line, "text outside the root element".into()));
                }
                continue;
            }
            Event::CData(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => continue,
        };
        count += 1;
        if count > MAX_ELEMENTS {
            return Err(err(
                line,
                format!("more than {MAX_ELEMENTS} elements: refusing the input"),
            ));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(err(
                line,
                format!("elements nested deeper than {MAX_DEPTH}: refusing the input"),
            ));
        }
        if stack.is_empty() && root.is_some() {
            return Err(err(line, "a second root element".into()));
        }
        let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
        let mut attrs: Vec<(String, String)> = Vec::new();
        for a in start.attributes().with_checks(true) {
            let a = a.map_err(|e| err(line, format!("<{name}>: bad attribute: {e}")))?;
            let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let v = a
                .unescape_value()
                .map_err(|e| err(line, format!("<{name} {k}=...>: {e}")))?
                .into_owned();
            if v.len() > MAX_VALUE {
                return Err(err(
                    line,
                    format!("<{name} {k}=...>: value longer than {MAX_VALUE} bytes"),
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(err(
                    line,
                    format!(
                        "<{name} {k}=...>: value contains a control character (newline, tab, ...)"
                    ),
                ));
            }
            attrs.push((k, v));
        }
        let el = Elem {
            name,
            attrs,
            children: Vec::new(),
            line,
        };
        if empty {
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None => root = Some(el),
            }
        } else {
            stack.push(el);
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            line_of(text, text.len()),
            format!(
                "not well-formed XML: <{}> (line {}) is never closed",
                open.name, open.line
            ),
        ));
    }
    root.ok_or_else(|| err(0, "no XML element in the input (empty file?)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_tree() {
        let e = parse(
            b"<?xml version=\"1.0\"?>\n<cluster name=\"c\">\n <rm>\n  <ip address=\"10.0.0.1\"/>\n </rm>\n</cluster>\n",
        )
        .unwrap();
        assert_eq!(e.name, "cluster");
        assert_eq!(e.get("name"), Some("c"));
        let rm = &e.children[0];
        assert_eq!(rm.children[0].get("address"), Some("10.0.0.1"));
        assert_eq!(rm.children[0].line, 4);
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let xxe = b"<?xml version=\"1.0\"?>\n<!DOCTYPE cluster [<!ENTITY x SYSTEM \"file:///etc/shadow\">]>\n<cluster name=\"&x;\"/>";
        let e = parse(xxe).unwrap_err();
        assert!(e.msg.contains("DOCTYPE"), "{e}");
        assert_eq!(e.line, 2);
        let e = parse(b"<cluster name=\"&x;\"/>").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        // Predefined entities and character references are fine.
        let ok = parse(b"<cluster name=\"a&amp;b&#65;\"/>").unwrap();
        assert_eq!(ok.get("name"), Some("a&bA"));
    }

    #[test]
    fn refuses_malformed() {
        for (bad, what) in [
            (&b""[..], "no XML element"),
            (b"<cluster><rm></cluster>", "not well-formed"),
            (b"<cluster><rm>", "never closed"),
            (b"<a/><b/>", "second root"),
            (b"<a x=\"1\" x=\"2\"/>", "bad attribute"),
            (b"<a x=\"1\nrm -rf /\"/>", "control character"),
            (b"<a x=\"&#10;\"/>", "control character"),
            (b"\xff\xfe<a/>", "not UTF-8"),
            (b"junk", "text outside"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.msg.contains(what),
                "{:?}: {e}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn refuses_beyond_limits() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).unwrap_err().msg.contains("deeper"));
        let many = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS + 1));
        assert!(parse(many.as_bytes()).unwrap_err().msg.contains("elements"));
        let big = vec![b' '; MAX_INPUT + 1];
        assert!(parse(&big).unwrap_err().msg.contains("larger"));
        let long = format!("<a v=\"{}\"/>", "x".repeat(MAX_VALUE + 1));
        assert!(parse(long.as_bytes()).unwrap_err().msg.contains("longer"));
    }
}
