//! The agent's way to the server: the `client_binary` (mysql / mariadb) over the instance's
//! Unix socket, credentials in a 0600 options file ([`ocf::secret::OptionsFile`], removed
//! when the action ends), SQL on standard input, answers as the client's XML (`--xml`: one
//! `<resultset>` per statement, NULL marked `xsi:nil`), every run bounded by the deadline.
//!
//! Nothing secret is on the client's command line or in its environment: argv holds the
//! options file's path, the socket and fixed flags; the environment is empty but for PATH.
//! Statements that carry a password (`CHANGE MASTER TO ... MASTER_PASSWORD=`) travel on
//! stdin, which the SDK never shows in a debug string.

use super::sql::{Column, Dialect, ReplicaStatus, ServerVersion};
use ocf::process::Cmd;
use ocf::secret::OptionsFile;
use ocf::{Context, Deadline, Error, Result};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Server error numbers the agent reacts to.
pub mod code {
    /// `ER_ACCESS_DENIED_ERROR`.
    pub const ACCESS_DENIED: u32 = 1045;
    /// `ER_NO_SUCH_TABLE`.
    pub const NO_SUCH_TABLE: u32 = 1146;
    /// `ER_BAD_DB_ERROR`.
    pub const BAD_DB: u32 = 1049;
    /// Client errors (2000 and up) mean the server did not answer (2002: no socket).
    pub const FIRST_CLIENT_ERROR: u32 = 2000;
}

/// Why a query did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// The client could not reach the server (client error 2000 and up).
    Unreachable(String),
    /// No answer before the deadline (the client was killed).
    Timeout(String),
    /// The server answered with an error.
    Server {
        /// Error number.
        code: u32,
        /// Its message.
        message: String,
    },
    /// Anything else (the client is missing, unreadable output).
    Other(String),
}

impl DbError {
    /// One line for an exit reason (never holds a password: the server's messages name
    /// the account, never its password).
    pub fn describe(&self) -> String {
        match self {
            DbError::Unreachable(s) | DbError::Timeout(s) | DbError::Other(s) => s.clone(),
            DbError::Server { code, message } => format!("server error {code}: {message}"),
        }
    }
    /// As an OCF error (1) with `what` in front.
    pub fn to_error(&self, what: &str) -> Error {
        Error::generic(format!("{what}: {}", self.describe()))
    }
    /// The server's error number, if it answered with one.
    pub fn server_code(&self) -> Option<u32> {
        match self {
            DbError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
    /// Whether the server itself answered (even with an error): it is up.
    pub fn server_answered(&self) -> bool {
        matches!(self, DbError::Server { .. })
    }
}

/// Result of a client run.
pub type DbResult<T> = std::result::Result<T, DbError>;

/// One row: (column, value or NULL), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row(pub Vec<(String, Option<String>)>);

impl Row {
    /// A column's value by name (case-insensitive); `None` for NULL or a missing column.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }
    /// The first column's value.
    pub fn first(&self) -> Option<&str> {
        self.0.first().and_then(|(_, v)| v.as_deref())
    }
}

/// The rows of one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSet {
    /// The statement as the client echoes it.
    pub statement: String,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// Parse the client's `--xml` output (one document per statement that returns rows).
///
/// # Errors
/// A description when the output is not what the client writes.
pub fn parse_xml(text: &str) -> std::result::Result<Vec<ResultSet>, String> {
    let mut reader = Reader::from_str(text);
    let mut sets: Vec<ResultSet> = Vec::new();
    let mut row: Option<Row> = None;
    let mut field: Option<(String, bool, String)> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("unreadable client output: {e}"))?;
        let attr = |e: &quick_xml::events::BytesStart<'_>, k: &str| -> Option<String> {
            e.try_get_attribute(k)
                .ok()
                .flatten()
                .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
        };
        match ev {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"resultset" => {
                sets.push(ResultSet {
                    statement: attr(&e, "statement").unwrap_or_default().trim().to_string(),
                    rows: Vec::new(),
                });
            }
            Event::Start(e) if e.name().as_ref() == b"row" => row = Some(Row::default()),
            Event::Empty(e) if e.name().as_ref() == b"row" => {
                if let Some(s) = sets.last_mut() {
                    s.rows.push(Row::default());
                }
            }
            Event::End(e) if e.name().as_ref() == b"row" => {
                if let (Some(r), Some(s)) = (row.take(), sets.last_mut()) {
                    s.rows.push(r);
                }
            }
            Event::Start(e) if e.name().as_ref() == b"field" => {
                let nil = attr(&e, "xsi:nil").is_some_and(|v| v == "true");
                field = Some((attr(&e, "name").unwrap_or_default(), nil, String::new()));
            }
            Event::Empty(e) if e.name().as_ref() == b"field" => {
                let nil = attr(&e, "xsi:nil").is_some_and(|v| v == "true");
                if let Some(r) = row.as_mut() {
                    let v = (!nil).then(String::new);
                    r.0.push((attr(&e, "name").unwrap_or_default(), v));
                }
            }
            Event::Text(t) => {
                if let Some((_, _, v)) = field.as_mut() {
                    v.push_str(&t.unescape().map_err(|e| format!("bad text: {e}"))?);
                }
            }
            Event::End(e) if e.name().as_ref() == b"field" => {
                if let (Some((k, nil, v)), Some(r)) = (field.take(), row.as_mut()) {
                    r.0.push((k, (!nil).then_some(v)));
                }
            }
            _ => {}
        }
    }
    Ok(sets)
}

/// The error number and message of the client's `ERROR 1045 (28000) at line 1: ...` line.
pub fn parse_error(stderr: &str) -> Option<(u32, String)> {
    let line = stderr.lines().find(|l| l.starts_with("ERROR "))?;
    let rest = &line["ERROR ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let code = digits.parse().ok()?;
    let message = rest
        .split_once(": ")
        .map_or(rest, |(_, m)| m)
        .trim()
        .to_string();
    Some((code, message))
}

/// A client for one account (its options file lives as long as this value).
pub struct Client {
    program: PathBuf,
    socket: PathBuf,
    user: String,
    options: OptionsFile,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("program", &self.program)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The longest one client run may take (also capped by the action's deadline).
const RUN_CAP: Duration = Duration::from_secs(30);

impl Client {
    /// A client for `user` with `password` over `socket`: writes the 0600 options file.
    ///
    /// # Errors
    /// 1 when the options file cannot be written; 6 for a line break in the user or
    /// password.
    pub fn new(
        cx: &Context,
        program: &Path,
        socket: &Path,
        user: &str,
        password: &str,
    ) -> Result<Client> {
        let mut pairs = vec![("user", user)];
        if !password.is_empty() {
            pairs.push(("password", password));
        }
        let options = OptionsFile::ini(cx, "client", &pairs)?;
        Ok(Client {
            program: program.to_path_buf(),
            socket: socket.to_path_buf(),
            user: user.to_string(),
            options,
        })
    }

    /// The account.
    pub fn user(&self) -> &str {
        &self.user
    }

    fn command(&self, deadline: Deadline) -> Cmd {
        let secs = deadline.remaining().as_secs().clamp(1, 30);
        Cmd::new(&self.program)
            .arg(format!(
                "--defaults-extra-file={}",
                self.options.path().display()
            ))
            .arg(format!("--socket={}", self.socket.display()))
            .args(["--protocol=socket", "--xml", "--batch", "--no-auto-rehash"])
            .arg(format!("--connect-timeout={secs}"))
            .env_clear()
            .env("PATH", super::PATH)
            .env("LC_ALL", "C")
            .cwd("/")
    }

    /// Run `sql` (one or more statements separated by `;`), returning the result sets of
    /// those that return rows.
    ///
    /// # Errors
    /// [`DbError`].
    pub fn run(&self, sql: &str, deadline: Deadline) -> DbResult<Vec<ResultSet>> {
        let d = deadline.within(RUN_CAP);
        let mut input = sql.trim_end().trim_end_matches(';').to_string();
        input.push_str(";\n");
        let cmd = self.command(d).stdin(input);
        let fin = cmd
            .run_bounded(d, Duration::from_millis(200))
            .map_err(|e| DbError::Other(e.reason().to_string()))?;
        if fin.timed_out {
            return Err(DbError::Timeout(format!(
                "no answer on {} within {:.1} s",
                self.socket.display(),
                fin.elapsed.as_secs_f64()
            )));
        }
        let out = fin.output;
        if !out.success() {
            let stderr = out.stderr_text();
            return Err(match parse_error(&stderr) {
                Some((c, m)) if c >= code::FIRST_CLIENT_ERROR => DbError::Unreachable(m),
                Some((code, message)) => DbError::Server { code, message },
                None => DbError::Other(format!(
                    "{} failed: {}",
                    self.program.display(),
                    out.one_line()
                )),
            });
        }
        parse_xml(&out.stdout_text()).map_err(DbError::Other)
    }

    /// Run statements that return no rows.
    ///
    /// # Errors
    /// [`DbError`].
    pub fn exec(&self, sql: &str, deadline: Deadline) -> DbResult<()> {
        self.run(sql, deadline).map(|_| ())
    }

    /// The rows of a single query.
    ///
    /// # Errors
    /// [`DbError`].
    pub fn rows(&self, sql: &str, deadline: Deadline) -> DbResult<Vec<Row>> {
        Ok(self
            .run(sql, deadline)?
            .into_iter()
            .next()
            .map(|s| s.rows)
            .unwrap_or_default())
    }
}

/// What the agent needs to know about a server in one client run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Its version.
    pub version: ServerVersion,
    /// Global `read_only`.
    pub read_only: bool,
    /// `gtid_mode` is ON (MySQL).
    pub gtid_mode_on: bool,
    /// Replica status, when configured as a replica.
    pub replica: Option<ReplicaStatus>,
}

/// Read [`Facts`] with one client run (version first, to pick the replica-status words: a
/// second run only when the server turns out to use the new ones).
///
/// # Errors
/// [`DbError`].
pub fn facts(c: &Client, deadline: Deadline) -> DbResult<Facts> {
    let read = |dialect: Dialect| -> DbResult<(ServerVersion, bool, Option<ReplicaStatus>)> {
        let sets = c.run(
            &format!(
                "SELECT VERSION() AS v, @@GLOBAL.read_only AS ro; {}",
                dialect.show_status()
            ),
            deadline,
        )?;
        let first = sets.first().and_then(|s| s.rows.first());
        let v = first.and_then(|r| r.get("v")).unwrap_or_default();
        let version = ServerVersion::parse(v)
            .ok_or_else(|| DbError::Other(format!("unknown server version '{v}'")))?;
        let ro = first
            .and_then(|r| r.get("ro"))
            .is_some_and(|s| matches!(s.trim(), "1" | "ON"));
        let replica = sets
            .get(1)
            .and_then(|s| s.rows.first())
            .and_then(|r| replica_status(r, dialect));
        Ok((version, ro, replica))
    };
    let (version, read_only, mut replica) = read(Dialect::Legacy).or_else(|e| {
        // MySQL 8.4 no longer knows SHOW SLAVE STATUS: ask in its words.
        if e.server_code().is_some() {
            read(Dialect::Replica)
        } else {
            Err(e)
        }
    })?;
    if version.dialect() == Dialect::Replica && replica.is_some() {
        // Column names differ: read again in the server's own words.
        replica = read(Dialect::Replica)?.2;
    }
    let gtid_mode_on = match version.flavor {
        super::sql::Flavor::MySql => c
            .rows("SELECT @@GLOBAL.gtid_mode", deadline)
            .ok()
            .and_then(|r| r.first().and_then(|r| r.first().map(str::to_string)))
            .is_some_and(|m| m.eq_ignore_ascii_case("ON")),
        super::sql::Flavor::MariaDb => false,
    };
    Ok(Facts {
        version,
        read_only,
        gtid_mode_on,
        replica,
    })
}

/// A replica-status row read with `dialect`'s column names; `None` without a source host.
pub fn replica_status(row: &Row, dialect: Dialect) -> Option<ReplicaStatus> {
    let col = |c: Column| row.get(dialect.column(c)).unwrap_or_default().to_string();
    let num = |c: Column| col(c).trim().parse::<u32>().unwrap_or(0);
    let st = ReplicaStatus {
        host: col(Column::Host),
        log_file: col(Column::LogFile),
        io_running: col(Column::IoRunning),
        sql_running: col(Column::SqlRunning),
        lag: row
            .get(dialect.column(Column::Lag))
            .and_then(|s| s.trim().parse().ok()),
        io_error: (num(Column::LastIoErrno), col(Column::LastIoError)),
        sql_error: (num(Column::LastSqlErrno), col(Column::LastSqlError)),
    };
    (!st.host.is_empty()).then_some(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = r#"<?xml version="1.0"?>

<resultset statement="select 1 as a, null as b, &quot;x&lt;&amp;y	tab&quot; as c" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <row>
	<field name="a">1</field>
	<field name="b" xsi:nil="true" />
	<field name="c">x&lt;&amp;y	tab</field>
  </row>
</resultset>
<?xml version="1.0"?>

<resultset statement="show slave status" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></resultset>
<?xml version="1.0"?>

<resultset statement="select VERSION()" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <row>
	<field name="VERSION()">10.11.19-MariaDB-0+deb12u1</field>
	<field name="e"></field>
  </row>
</resultset>
"#;

    #[test]
    fn xml_output_of_several_statements() {
        let sets = parse_xml(OUT).unwrap();
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0].rows.len(), 1);
        let r = &sets[0].rows[0];
        assert_eq!(r.get("a"), Some("1"));
        assert_eq!(r.get("B"), None);
        assert_eq!(r.0[1], ("b".to_string(), None));
        assert_eq!(r.get("c"), Some("x<&y\ttab"));
        assert_eq!(sets[1].statement, "show slave status");
        assert!(sets[1].rows.is_empty());
        assert_eq!(sets[2].rows[0].first(), Some("10.11.19-MariaDB-0+deb12u1"));
        assert_eq!(sets[2].rows[0].get("e"), Some(""));
        assert!(parse_xml("").unwrap().is_empty());
    }

    #[test]
    fn client_errors() {
        assert_eq!(
            parse_error("ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)\n"),
            Some((1045, "Access denied for user 'root'@'localhost' (using password: YES)".into()))
        );
        assert_eq!(
            parse_error("ERROR 1146 (42S02) at line 1: Table 'x.y' doesn't exist").map(|e| e.0),
            Some(1146)
        );
        assert_eq!(parse_error("something else"), None);
    }

    #[test]
    fn replica_rows_by_dialect() {
        let row = Row(vec![
            ("Replica_IO_Running".into(), Some("Yes".into())),
            ("Replica_SQL_Running".into(), Some("Yes".into())),
            ("Source_Host".into(), Some("n1".into())),
            ("Seconds_Behind_Source".into(), Some("3".into())),
            ("Last_IO_Errno".into(), Some("0".into())),
            ("Last_SQL_Errno".into(), Some("0".into())),
        ]);
        let st = replica_status(&row, Dialect::Replica).unwrap();
        assert_eq!((st.host.as_str(), st.lag), ("n1", Some(3)));
        // Read with the old words, the row has no host: not a replica.
        assert!(replica_status(&row, Dialect::Legacy).is_none());
    }
}
