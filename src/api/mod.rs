//! The HTTP API's wire types. Architecture invariant: only `api` (and `web`) know JSON and
//! HTML shapes; the CLI's `--format json` prints these same types.

pub mod wire;
