//! Issue "web UI": sign in, filter, see cooling numbers with their release dates, act on a
//! number with a CSRF-protected form, read the transaction log.

use crate::api_support;

use api_support::web::{csrf, form, page, sign_in};
use api_support::{seed, Server};
use hyper::Method;

const LONDON: &str = "Provider/Contoso/London";

fn seed_mixed(s: &Server) {
    seed(
        s,
        &[
            "+442079460001",
            "+442079460002",
            "+442079460003",
            "+442079460004",
        ],
        LONDON,
    );
    let ctx = s.ctx();
    numinv::ops::numbers::cool(&ctx, "+442079460001", None, Some(2)).unwrap();
    numinv::ops::numbers::cool(&ctx, "+442079460003", None, Some(10)).unwrap();
    numinv::ops::numbers::reserve(&ctx, "+442079460004", None, "<b>board</b>", None, None).unwrap();
}

#[tokio::test]
async fn sign_in_filter_to_cooling_and_see_release_dates() {
    let s = Server::start().await;
    seed_mixed(&s);

    let r = s.send(Method::GET, "/numbers", &[], "").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let login = s.send(Method::GET, "/login", &[], "").await;
    assert!(login.body.contains("name=\"token\""), "{}", login.body);

    let cookie = sign_in(&s, &s.reader).await;
    let r = page(
        &s,
        &cookie,
        "/numbers?status=Cooling&vendor=&hierarchy=&search=",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let html = &r.body;
    assert!(html.contains("+442079460001"), "{html}");
    assert!(html.contains("+442079460003"), "{html}");
    assert!(
        !html.contains(">+442079460002<"),
        "Available number listed: {html}"
    );
    assert!(
        !html.contains(">+442079460004<"),
        "Reserved number listed: {html}"
    );
    assert!(html.contains("2026-12-05"), "{html}");
    assert!(html.contains("in 2 days"), "{html}");
    assert!(html.contains("2026-12-13"), "{html}");
    assert!(html.contains("in 10 days"), "{html}");
    assert!(html.contains("class=\"status st-cooling\""), "{html}");
    assert!(
        html.contains("<option value=\"Cooling\" selected>"),
        "{html}"
    );

    // The other filters narrow too.
    let r = page(&s, &cookie, "/numbers?search=board").await;
    assert!(r.body.contains(">+442079460004<"), "{}", r.body);
    assert!(!r.body.contains(">+442079460001<"));
    // Text is escaped.
    let r = page(&s, &cookie, "/numbers/%2B442079460004").await;
    assert!(r.body.contains("&lt;b&gt;board&lt;/b&gt;"), "{}", r.body);
    assert!(!r.body.contains("<b>board</b>"));
    let r = page(&s, &cookie, "/numbers?hierarchy=Provider/Fabrikam").await;
    assert!(r.body.contains("No numbers match"), "{}", r.body);
    let r = page(&s, &cookie, "/numbers?limit=2").await;
    assert!(r.body.contains("Next page"), "{}", r.body);
    assert!(
        r.body.contains("limit=2&amp;after=%2B442079460002"),
        "{}",
        r.body
    );
    let r = page(&s, &cookie, "/numbers?status=Bogus").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Bogus"), "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn number_page_shows_history_and_acts_with_csrf() {
    let s = Server::start().await;
    seed_mixed(&s);
    let cookie = sign_in(&s, &s.admin).await;
    let r = page(&s, &cookie, "/numbers/%2B442079460001").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("History"), "{}", r.body);
    assert!(r.body.contains("status: Available → Cooling"), "{}", r.body);
    assert!(r.body.contains("Release now"), "{}", r.body);
    let token = csrf(&r.body);

    // Without the CSRF token nothing changes.
    let bad = form(
        &s,
        &cookie,
        "/numbers/%2B442079460001",
        "action=release&csrf=nope",
    )
    .await;
    assert_eq!(bad.status, 403, "{}", bad.body);
    let ok = form(
        &s,
        &cookie,
        "/numbers/%2B442079460001",
        &format!("action=release&csrf={token}"),
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let r = page(&s, &cookie, "/numbers/%2B442079460001").await;
    assert!(r.body.contains("status: Cooling → Available"), "{}", r.body);
    assert!(r.body.contains("api:ops"), "{}", r.body);
    let missing = page(&s, &cookie, "/numbers/%2B442079469999").await;
    assert_eq!(missing.status, 404);

    // A read token sees no actions and may not post them.
    let rc = sign_in(&s, &s.reader).await;
    let r = page(&s, &rc, "/numbers/%2B442079460003").await;
    assert!(!r.body.contains("Release now"), "{}", r.body);
    let t = csrf(&r.body);
    let denied = form(
        &s,
        &rc,
        "/numbers/%2B442079460003",
        &format!("action=release&csrf={t}"),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    s.stop().await;
}

#[tokio::test]
async fn transaction_log_and_sign_out() {
    let s = Server::start().await;
    seed_mixed(&s);
    let cookie = sign_in(&s, &s.admin).await;
    let r = page(&s, &cookie, "/transactions").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("numbers.cool"), "{}", r.body);
    assert!(r.body.contains("tokens.create"), "{}", r.body);
    let r = page(&s, &cookie, "/transactions/3").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("numbers.add"), "{}", r.body);
    assert!(r.body.contains("+442079460004"), "{}", r.body);
    assert_eq!(page(&s, &cookie, "/transactions/999").await.status, 404);

    let bad = s
        .send(
            Method::POST,
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            "token=numinv_wrong",
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("not valid"), "{}", bad.body);
    assert!(!bad.body.contains("numinv_wrong"));

    let t = csrf(&page(&s, &cookie, "/numbers").await.body);
    let out = form(&s, &cookie, "/logout", &format!("csrf={t}")).await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // Revoking the token ends the session.
    numinv::ops::tokens::revoke(&s.ctx(), "ops").unwrap();
    let r = page(&s, &cookie, "/numbers").await;
    assert_eq!(r.status, 303);
    s.stop().await;
}
