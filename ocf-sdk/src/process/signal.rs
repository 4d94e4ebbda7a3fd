//! Signal names as administrators write them in parameters.

use crate::exit::{Error, Result};
use nix::sys::signal::Signal;
use std::str::FromStr;

/// One signal: a number (`15`), a name with or without `SIG` in any case (`TERM`,
/// `sigterm`, `SIGTERM`). `None` when it names no signal.
pub fn parse_signal(word: &str) -> Option<Signal> {
    if let Ok(n) = word.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = word.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    Signal::from_str(&name).ok()
}

/// A whitespace-separated list of signals from the parameter `param` (for instance
/// Filesystem's `term_signals`, an agent's `stop_signals`).
///
/// # Errors
/// 6 (configuration) naming the parameter and the word when a word is not a signal, or when
/// the list is empty.
pub fn parse_signals(param: &str, text: &str) -> Result<Vec<Signal>> {
    let mut out = Vec::new();
    for w in text.split_whitespace() {
        match parse_signal(w) {
            Some(s) => out.push(s),
            None => {
                return Err(Error::configured(format!("{param}: '{w}' is not a signal")));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::configured(format!("{param} names no signal")));
    }
    Ok(out)
}
