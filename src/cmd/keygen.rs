//! `logveil keygen`: print a fresh random key in an accepted format.

use std::process::ExitCode;

use base64::Engine as _;

use crate::keys::SecretKey;

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Print base64 (with its `base64:` prefix) instead of hex.
    #[arg(long)]
    pub base64: bool,
}

/// Prints 32 random bytes from the OS generator.
///
/// # Errors
/// Never; the signature matches the other commands.
pub fn run(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let key = SecretKey::generate();
    if args.base64 {
        // Declared, so it can never be mistaken for hex.
        println!(
            "{}{}",
            crate::keys::BASE64_PREFIX,
            base64::engine::general_purpose::STANDARD.encode(key.expose())
        );
    } else {
        println!("{}", key.to_hex().as_str());
    }
    Ok(ExitCode::SUCCESS)
}
