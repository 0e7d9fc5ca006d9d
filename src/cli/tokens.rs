//! `numinv tokens create|list|revoke`

use clap::Subcommand;

use super::output::{self, tx_suffix, Format};
use super::Global;
use crate::api::wire::TokenView;
use crate::ops::tokens::{self as ops, Role};
use crate::ops::Ctx;

#[derive(Debug, Subcommand)]
pub enum TokensCmd {
    /// Create an API token; it is printed once and stored only as a hash.
    Create {
        /// A name for the token (letters, digits, '-', '_', '.'); events record `api:NAME`.
        name: String,
        /// admin (everything) or read (reads only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List tokens (names, roles, dates; never secrets).
    List,
    /// Revoke a token: requests carrying it are refused from then on.
    Revoke { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}; use admin or read"))
}

pub fn run(g: &Global, cmd: TokensCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    match cmd {
        TokensCmd::Create { name, role } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let (secret, tx) = ops::create(&ctx, &name, role)?;
            Ok(match g.format() {
                Format::Json => output::json(&serde_json::json!({
                    "name": name, "role": role.as_str(), "token": secret,
                    "transaction": tx.as_ref().map(|t| t.id)
                })),
                _ => format!(
                    "{secret}\ntoken {name} ({role}) created ({}); it is shown only this once: store it now\n",
                    tx_suffix(&tx)
                ),
            })
        }
        TokensCmd::List => {
            let list: Vec<TokenView> = ops::list(&store.read()?)?
                .iter()
                .map(TokenView::from)
                .collect();
            Ok(match g.format() {
                Format::Json => output::json(&list),
                _ => output::table(
                    &["name", "role", "created_at", "created_by"],
                    &list
                        .iter()
                        .map(|t| {
                            vec![
                                t.name.clone(),
                                t.role.clone(),
                                t.created_at.to_rfc3339(),
                                t.created_by.clone(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                ),
            })
        }
        TokensCmd::Revoke { name } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let tx = ops::revoke(&ctx, &name)?;
            Ok(format!("token {name} revoked ({})\n", tx_suffix(&tx)))
        }
    }
}
