//! The `numinv` binary: parse the command line, run, map errors to one line and an exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use numinv::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (level, json) = match &cli.command {
        cli::Command::Serve(args) => cli::serve::log_settings(args),
        _ => (None, false),
    };
    // NUMINV_LOG wins over the config file; the default is warnings only (info for serve).
    let filter = tracing_subscriber::EnvFilter::try_from_env("NUMINV_LOG").unwrap_or_else(|_| {
        let default = match &cli.command {
            cli::Command::Serve(_) => "info",
            _ => "warn",
        };
        tracing_subscriber::EnvFilter::new(level.as_deref().unwrap_or(default))
    });
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    match cli::run(cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout.write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
