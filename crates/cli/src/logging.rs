//! Logging flags shared by every command, and the subscriber they configure.
//!
//! Logs always go to stderr; `--logging.record_log` also writes them to a size-rotated file in
//! `--logging.logging_dir`, as the bittensor SDK's flags of the same names do (its default
//! folder, its 25 MiB limit and its 10 kept files). `--logging.format json` writes one JSON
//! object a line to both, for log shippers. ANSI colours only go to a terminal.

mod rotate;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use omron_bittensor::wallet::expand_home;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;

use rotate::RotatingFile;

/// The SDK's default `--logging.logging_dir`.
const DEFAULT_LOGGING_DIR: &str = "~/.bittensor/miners";
/// Size at which a log file is rotated (the SDK's `DEFAULT_MAX_ROTATING_LOG_FILE_SIZE`).
const MAX_LOG_FILE_BYTES: u64 = 25 * 1024 * 1024;
/// Rotated files kept beside the current one (the SDK's `DEFAULT_LOG_BACKUP_COUNT`).
const KEPT_LOG_FILES: u32 = 10;

/// How log lines are written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `target`, `fields`, `spans`).
    Json,
}

/// Logging options.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Logging")]
pub(crate) struct LoggingArgs {
    /// Log at debug level.
    #[arg(long = "logging.debug", global = true)]
    pub(crate) debug: bool,
    /// Log at trace level.
    #[arg(long = "logging.trace", global = true)]
    pub(crate) trace: bool,
    /// Also write the logs to `omron-<command>.log` in `--logging.logging_dir`, rotated at
    /// 25 MiB with the last 10 files kept (`.1` is the newest).
    #[arg(long = "logging.record_log", global = true)]
    pub(crate) record_log: bool,
    /// Folder of the log files of `--logging.record_log`.
    #[arg(long = "logging.logging_dir", global = true, value_name = "DIR",
          default_value = DEFAULT_LOGGING_DIR)]
    pub(crate) logging_dir: String,
    /// Format of the log lines, on stderr and in the files.
    #[arg(long = "logging.format", global = true, value_name = "FORMAT", value_enum,
          default_value_t = LogFormat::Text)]
    pub(crate) format: LogFormat,
}

impl Default for LoggingArgs {
    fn default() -> Self {
        Self {
            debug: false,
            trace: false,
            record_log: false,
            logging_dir: DEFAULT_LOGGING_DIR.to_owned(),
            format: LogFormat::Text,
        }
    }
}

impl LoggingArgs {
    fn level(&self) -> &'static str {
        if self.trace {
            "trace"
        } else if self.debug {
            "debug"
        } else {
            "info"
        }
    }

    /// The log file of `command` when `--logging.record_log` is on.
    fn log_file(&self, command: &str) -> Option<PathBuf> {
        self.record_log
            .then(|| expand_home(&self.logging_dir).join(format!("omron-{command}.log")))
    }
}

/// Whether stderr gets ANSI colours: only on a terminal, and never with `NO_COLOR` set
/// (<https://no-color.org>). Redirected output stays plain text.
fn stderr_ansi() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn layer<W>(format: LogFormat, writer: W, ansi: bool) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => fmt.with_ansi(ansi).boxed(),
        LogFormat::Json => fmt.json().with_ansi(false).boxed(),
    }
}

/// Installs the global subscriber for `command` (the subcommand's name): `RUST_LOG` wins when
/// set, otherwise the flags pick the level. Fails when the log file cannot be opened.
pub(crate) fn init(args: &LoggingArgs, command: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(args.level()));
    let mut layers = vec![layer(args.format, std::io::stderr, stderr_ansi())];
    let file = args.log_file(command);
    if let Some(path) = &file {
        let writer = RotatingFile::open(path, MAX_LOG_FILE_BYTES, KEPT_LOG_FILES)
            .with_context(|| format!("cannot open the log file {}", path.display()))?;
        layers.push(layer(args.format, writer, false));
    }
    // A subscriber already installed (only possible in tests) is kept.
    let _ = Registry::default().with(layers).with(filter).try_init();
    if let Some(path) = file {
        tracing::info!(path = %path.display(), "recording logs");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LoggingArgs,
    }

    #[test]
    fn empty_command_line_gives_defaults() {
        let args = Wrapper::parse_from(["omron"]).args;
        assert_eq!(args, LoggingArgs::default());
        assert_eq!(args.log_file("miner"), None, "no file unless record_log");
        assert_eq!(args.level(), "info");
    }

    #[test]
    fn the_sdk_flags_select_the_file_and_format() {
        let args = Wrapper::parse_from([
            "omron",
            "--logging.record_log",
            "--logging.logging_dir",
            "/var/log/sn2",
            "--logging.format",
            "json",
            "--logging.debug",
        ])
        .args;
        assert_eq!(
            args.log_file("validator"),
            Some(PathBuf::from("/var/log/sn2/omron-validator.log"))
        );
        assert_eq!(args.format, LogFormat::Json);
        assert_eq!(args.level(), "debug");
        assert!(
            Wrapper::try_parse_from(["omron", "--logging.format", "xml"]).is_err(),
            "unknown formats are refused"
        );
    }

    #[test]
    fn the_default_folder_is_under_home() {
        let dir = LoggingArgs {
            record_log: true,
            ..LoggingArgs::default()
        }
        .log_file("miner")
        .expect("file");
        assert!(
            dir.ends_with(".bittensor/miners/omron-miner.log"),
            "{dir:?}"
        );
        assert!(!dir.starts_with("~"), "{dir:?}");
    }
}
