//! Small HTML helpers: escaping, links, the page frame. Every text that reaches a page goes
//! through [`esc`].

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::domain::Status;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value (unreserved characters stay as they are).
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A query string from pairs, leaving out blank values.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The link to a number's page; extensions carry their hierarchy.
pub fn number_href(number: &str, hierarchy: &str) -> String {
    let q = if number.starts_with('+') {
        String::new()
    } else {
        query(&[("hierarchy", hierarchy)])
    };
    format!("/numbers/{}{q}", pct(number))
}

/// A status as a coloured badge.
pub fn status_badge(s: Status) -> String {
    format!(
        "<span class=\"status st-{}\">{}</span>",
        s.as_str().to_ascii_lowercase(),
        esc(s.as_str())
    )
}

/// "in 3 days", "today", "2 days overdue".
pub fn relative_days(date: NaiveDate, today: NaiveDate) -> String {
    match (date - today).num_days() {
        0 => "today".to_string(),
        1 => "in 1 day".to_string(),
        n if n > 1 => format!("in {n} days"),
        -1 => "1 day overdue".to_string(),
        n => format!("{} days overdue", -n),
    }
}

/// A release date with how far away it is.
pub fn release_cell(date: Option<NaiveDate>, today: NaiveDate) -> String {
    match date {
        None => String::new(),
        Some(d) => {
            let class = if d < today { "overdue" } else { "soon" };
            format!(
                "{} <span class=\"{class}\">({})</span>",
                esc(&d.to_string()),
                esc(&relative_days(d, today))
            )
        }
    }
}

/// A time as administrators read it: `2026-12-03 10:00:00 UTC`.
pub fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Who is signed in, for the page header.
pub struct Viewer<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub csrf: &'a str,
}

/// The page frame around `body` (already HTML).
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, body: &str) -> String {
    let nav = match viewer {
        Some(v) => format!(
            "<a href=\"/numbers\">Numbers</a><a href=\"/transactions\">Transactions</a>\
             <span class=\"who\">{} ({})</span>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form>",
            esc(v.name),
            esc(v.role),
            esc(v.csrf)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · numinv</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body><header><strong>numinv</strong>{nav}</header><main>{body}</main></body></html>\n",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn relative_days_reads_naturally() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(relative_days(d("2026-12-05"), d("2026-12-03")), "in 2 days");
        assert_eq!(relative_days(d("2026-12-04"), d("2026-12-03")), "in 1 day");
        assert_eq!(relative_days(d("2026-12-03"), d("2026-12-03")), "today");
        assert_eq!(
            relative_days(d("2026-12-01"), d("2026-12-03")),
            "2 days overdue"
        );
    }

    #[test]
    fn number_links_encode_plus_and_scope_extensions() {
        assert_eq!(number_href("+4420", "X"), "/numbers/%2B4420");
        assert_eq!(number_href("1001", "A/B"), "/numbers/1001?hierarchy=A%2FB");
    }
}
