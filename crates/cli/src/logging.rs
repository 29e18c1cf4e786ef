//! Logging flags shared by every command.

use clap::Args;
use tracing_subscriber::EnvFilter;

/// Logging options.
#[derive(Debug, Default, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Logging")]
pub(crate) struct LoggingArgs {
    /// Log at debug level.
    #[arg(long = "logging.debug", global = true)]
    pub(crate) debug: bool,
    /// Log at trace level.
    #[arg(long = "logging.trace", global = true)]
    pub(crate) trace: bool,
}

/// Installs the global subscriber: `RUST_LOG` wins when set, otherwise the flags pick the level.
pub(crate) fn init(args: &LoggingArgs) {
    let level = if args.trace {
        "trace"
    } else if args.debug {
        "debug"
    } else {
        "info"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
        assert_eq!(Wrapper::parse_from(["omron"]).args, LoggingArgs::default());
    }
}
