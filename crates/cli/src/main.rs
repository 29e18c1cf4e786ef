//! `omron`: the command-line entry point for circuit authors, miners, validators and operators.
//!
//! Each subcommand lives in its own module under `commands/`; this file only parses the command
//! line, sets up logging and maps errors to exit codes (0 success, 1 a negative answer such as a
//! rejected proof, 2 an error).

mod alloc;
mod args;
mod commands;
mod logging;
mod progress;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: alloc::TrackingAllocator = alloc::TrackingAllocator;

/// Proof-of-inference subnet node and zero-knowledge proving engine.
#[derive(Debug, Parser)]
#[command(name = "omron", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    logging: logging::LoggingArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile and inspect circuits.
    #[command(subcommand)]
    Circuit(commands::circuit::CircuitCommand),
    /// Prove a model's output on an input.
    Prove(commands::prove::ProveArgs),
    /// Verify a proof for an input (and optionally an output).
    Verify(commands::verify::VerifyArgs),
    /// Benchmark compile, prove and verify on models (default: the bundled benchmark models).
    Bench(commands::bench::BenchArgs),
    /// Run the embedded local chain, read metagraphs, and dev operations (subnets, funds,
    /// registration, stake, axons).
    #[command(subcommand)]
    Chain(commands::chain::ChainCommand),
    /// Create, list and show Bittensor wallets (coldkeys and hotkeys).
    #[command(subcommand)]
    Wallet(commands::wallet::WalletCommand),
    /// Send one signed request to an axon and print the answer.
    Query(commands::query::QueryArgs),
    /// Ask a validator's external API for a proven inference and verify the answer here.
    Request(Box<commands::request::RequestArgs>),
    /// Check a validator's signed receipts with the circuit's files.
    #[command(subcommand)]
    Receipt(commands::receipt::ReceiptCommand),
    /// Run a validator: query miners for proofs, verify them, score them and set weights.
    Validator(Box<commands::validator::ValidatorArgs>),
    /// Run a miner: serve proofs to the subnet's validators.
    Miner(Box<commands::miner::MinerArgs>),
    /// Run a whole subnet on this machine: a local chain, a validator and miners (one slow,
    /// one faulty), with a live scoreboard.
    Localnet(commands::localnet::LocalnetArgs),
}

/// How a command ended, when it did not fail outright.
pub(crate) enum Outcome {
    /// Everything went as asked.
    Success,
    /// A well-formed negative answer (e.g. a proof that does not verify): exit code 1.
    Rejected,
}

/// One-shot commands end quietly when their reader goes away (`omron circuit inspect .. | head`),
/// as Unix tools do, instead of panicking in `println!` on EPIPE: Rust ignores SIGPIPE by
/// default. Node commands keep ignoring it, so a closed pipe never kills a server.
fn die_quietly_on_closed_pipe() {
    // SAFETY: called once at start-up before any thread is spawned; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    alloc::keep_freed_memory();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The subcommand names the log file (`omron-miner.log`, ...).
    if let Err(err) = logging::init(&cli.logging, matches.subcommand_name().unwrap_or("omron")) {
        eprintln!("omron: error: {err:#}");
        std::process::exit(2);
    }
    if !matches!(
        cli.command,
        Command::Chain(_) | Command::Validator(_) | Command::Miner(_) | Command::Localnet(_)
    ) {
        die_quietly_on_closed_pipe();
    }
    let result = match cli.command {
        Command::Circuit(cmd) => commands::circuit::run(cmd),
        Command::Prove(args) => commands::prove::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Chain(cmd) => commands::chain::run(cmd),
        Command::Wallet(cmd) => commands::wallet::run(cmd),
        Command::Query(args) => commands::query::run(args),
        Command::Request(args) => commands::request::run(*args),
        Command::Receipt(cmd) => commands::receipt::run(cmd),
        Command::Validator(args) => commands::validator::run(*args),
        Command::Miner(args) => commands::miner::run(*args),
        Command::Localnet(args) => commands::localnet::run(args),
    };
    let code = match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Rejected) => 1,
        Err(err) => {
            eprintln!("omron: error: {err:#}");
            2
        }
    };
    std::process::exit(code);
}
