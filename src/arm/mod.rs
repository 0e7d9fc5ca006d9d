//! The ARM registered-users contract: paths, field names, auth, paging, TLS trust.
