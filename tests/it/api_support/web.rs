//! Web UI helpers shared by the web tests: sign in, read a page, post a form, find the
//! CSRF token.

use super::{Resp, Server};
use hyper::Method;

/// Signs in through the form and returns the session cookie (`name=value`).
pub async fn sign_in(s: &Server, token: &str) -> String {
    let r = s
        .send(
            Method::POST,
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("token={token}"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/numbers"));
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

pub async fn page(s: &Server, cookie: &str, path: &str) -> Resp {
    s.send(Method::GET, path, &[("cookie", cookie)], "").await
}

pub async fn form(s: &Server, cookie: &str, path: &str, body: &str) -> Resp {
    s.send(
        Method::POST,
        path,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .await
}

/// The CSRF token a page's forms carry.
pub fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf")
        + 19;
    html[at..at + 32].to_string()
}
