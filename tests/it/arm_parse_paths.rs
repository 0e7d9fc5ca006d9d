//! `arm::parse_users_page` reads a page on a direct path (typed, borrowed, no JSON tree) and
//! falls back to the `serde_json::Value` tree path to word an error. The two must agree on
//! every page: the same users and cursor where both read it, the same pages refused, and
//! the caller sees the tree path's error text exactly.

use std::path::{Path, PathBuf};

use numinv::arm::contract::{parse_users_page, parse_users_page_direct, parse_users_page_tree};

/// The fixture pages and the `arm_page` fuzz corpus.
fn pages() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["tests/fixtures/arm", "fuzz/corpus/arm_page"] {
        for f in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = f.unwrap().path();
            if dir.starts_with("tests") && p.extension().is_none_or(|e| e != "json") {
                continue; // the fixtures' README
            }
            let bytes = std::fs::read(&p).unwrap();
            files.push((p, bytes));
        }
    }
    files.sort();
    assert!(files.len() >= 6, "fixture and corpus pages: {files:?}");
    files
}

/// Whether the two paths agree on `body`; the answer of the tree path, as callers see it.
fn agree(what: &str, body: &[u8]) -> Result<usize, String> {
    let direct = parse_users_page_direct(body);
    let tree = parse_users_page_tree(body);
    match (&direct, &tree) {
        (Some(d), Ok(t)) => assert_eq!(d, t, "{what}: the paths read different pages"),
        (None, Err(_)) => {}
        (Some(_), Err(e)) => {
            panic!("{what}: the direct path reads a page the tree path refuses: {e}")
        }
        (None, Ok(_)) => panic!("{what}: the direct path gives up on a page the tree path reads"),
    }
    let answer = parse_users_page(body);
    let text = |r: &Result<numinv::arm::UsersPage, numinv::arm::ContractError>| {
        r.clone().map_err(|e| (e.to_string(), e.is_transient()))
    };
    assert_eq!(
        text(&answer),
        text(&tree),
        "{what}: callers see another answer"
    );
    tree.map(|p| p.users.len()).map_err(|e| e.to_string())
}

#[test]
fn both_paths_agree_on_every_fixture_and_corpus_page() {
    let mut read = 0;
    let mut refused = Vec::new();
    for (path, body) in pages() {
        match agree(&path.display().to_string(), &body) {
            Ok(_) => read += 1,
            Err(e) => refused.push(format!(
                "{}: {e}",
                path.file_name().unwrap().to_string_lossy()
            )),
        }
    }
    // Both kinds are covered: the cut page is refused as truncated, the others read.
    assert_eq!(read, 5, "refused: {refused:?}");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].starts_with("page-1-cut.json: body is truncated JSON"),
        "{refused:?}"
    );
}

#[test]
fn both_paths_agree_on_every_cut_of_every_page() {
    for (path, body) in pages() {
        for cut in 0..body.len() {
            let _ = agree(&format!("{} cut at {cut}", path.display()), &body[..cut]);
        }
    }
}
