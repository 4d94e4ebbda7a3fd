//! Splitting a parameter into words the way a shell splits quoted words, without a shell
//! and without any expansion: for parameters that carry extra arguments of a program
//! (mysql's `additional_parameters`, sshd's `options`), which the reference agents pass
//! unquoted through a shell.
//!
//! * blanks separate words;
//! * `'...'` is literal;
//! * `"..."` groups; inside it a backslash escapes only `"`, `\`, `$` and `` ` `` (as in a
//!   shell) and is kept before anything else;
//! * `\x` outside quotes is `x`;
//! * `''` and `""` are an empty word;
//! * `$(...)`, `` `...` ``, `;`, `|`, `*`, `~` are ordinary characters: nothing is run or
//!   expanded, ever.

/// A value that cannot be split: a quote is not closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclosed(pub char);

impl std::fmt::Display for Unclosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.0 == '\'' { "single" } else { "double" };
        write!(f, "unterminated {name} quote ({})", self.0)
    }
}

impl std::error::Error for Unclosed {}

/// Split `text` into words (see the module docs).
///
/// # Errors
/// [`Unclosed`] when a single or double quote is not closed.
pub fn split(text: &str) -> Result<Vec<String>, Unclosed> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut it = text.chars();
    while let Some(c) = it.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match it.next() {
                        Some('\'') => break,
                        Some(ch) => w.push(ch),
                        None => return Err(Unclosed('\'')),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match it.next() {
                        Some('"') => break,
                        Some('\\') => match it.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => w.push(ch),
                            Some(ch) => {
                                w.push('\\');
                                w.push(ch);
                            }
                            None => return Err(Unclosed('"')),
                        },
                        Some(ch) => w.push(ch),
                        None => return Err(Unclosed('"')),
                    }
                }
            }
            '\\' => {
                let w = cur.get_or_insert_with(String::new);
                if let Some(ch) = it.next() {
                    w.push(ch);
                }
            }
            ch => cur.get_or_insert_with(String::new).push(ch),
        }
    }
    if let Some(w) = cur {
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn blanks_quotes_and_backslashes_as_a_shell() {
        assert_eq!(
            ok(" --port=3307  --bind-address='127.0.0.1' \"a b\" c\\ d $(id) ;"),
            [
                "--port=3307",
                "--bind-address=127.0.0.1",
                "a b",
                "c d",
                "$(id)",
                ";"
            ]
        );
        assert_eq!(ok("a\tb\n c"), ["a", "b", "c"]);
        assert_eq!(
            ok("-o 'Banner none' -oX=\"1 2\""),
            ["-o", "Banner none", "-oX=1 2"]
        );
        assert_eq!(ok("'it'\\''s'"), ["it's"]);
        assert_eq!(ok("x'y z'w"), ["xy zw"]);
    }

    #[test]
    fn double_quotes_keep_a_backslash_before_ordinary_characters() {
        assert_eq!(ok(r#""a\"b""#), [r#"a"b"#]);
        assert_eq!(ok(r#""a\\b""#), [r"a\b"]);
        assert_eq!(ok(r#""\$HOME \`x\`""#), ["$HOME `x`"]);
        assert_eq!(ok(r#""C:\temp""#), [r"C:\temp"]);
        assert_eq!(ok(r"'a\b'"), [r"a\b"]);
    }

    #[test]
    fn empty_quotes_are_a_word_and_nothing_is_expanded() {
        assert_eq!(ok("''"), [""]);
        assert_eq!(ok("a \"\" b"), ["a", "", "b"]);
        assert!(ok("").is_empty());
        assert!(ok("   ").is_empty());
        assert_eq!(ok("* ~ `id` $X |"), ["*", "~", "`id`", "$X", "|"]);
        assert_eq!(ok("trailing\\"), ["trailing"]);
    }

    #[test]
    fn unclosed_quotes_are_errors() {
        assert_eq!(split("'x"), Err(Unclosed('\'')));
        assert_eq!(split("\"x"), Err(Unclosed('"')));
        assert_eq!(split("\"x\\"), Err(Unclosed('"')));
        assert_eq!(
            split("a 'b").unwrap_err().to_string(),
            "unterminated single quote (')"
        );
    }
}
