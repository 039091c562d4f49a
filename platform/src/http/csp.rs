//! Content-Security-Policy for every page (issue 22, browser isolation).
//!
//! Resellers write their own templates, footers and CSS, and the storefront
//! shares its origin with the reseller's console. So no markup a reseller or
//! visitor authors may run script: every page allows scripts only from the
//! platform's own files (`script-src 'self'`, no inline script, no `eval`),
//! and the platform's own scripts are all files (`/_store/*.js`, the widget).
//! A nonce would not add to this: templates a reseller writes can read any
//! value the page is rendered with, so a nonce in the context would be theirs
//! to use too.
//!
//! - **Storefront**: the reseller's analytics host (Matomo's, or Google's) is
//!   allowed only when the reseller enabled analytics *and* this visitor
//!   consented (the `relabel_consent=yes` cookie the consent banner sets);
//!   framing is refused (`frame-ancestors 'none'`) except for the signup
//!   widget, which names the origins the reseller allow-listed.
//! - **Consoles** (reseller and operator) and everything else: own files only,
//!   never framed.
//! - **API documentation** (Swagger UI, the platform's own page with inline
//!   script): allowed its inline script, never framed.
//!
//! Inline `style` attributes stay allowed (brand colours are set that way);
//! CSS cannot run script in current browsers.

use poem::Response;
use poem::http::{HeaderValue, header};
use relabel_themes::Analytics;

/// What kind of page a response is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area<'a> {
    /// A storefront page: the shop's analytics, if enabled and consented.
    Store {
        analytics: Option<&'a Analytics>,
        consented: bool,
    },
    /// Consoles, operator pages, error pages.
    Admin,
    /// The platform's API documentation.
    ApiDocs,
}

const BASE: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; \
    style-src 'self' 'unsafe-inline'; font-src 'self'";

/// The policy for `area`, with `frame_ancestors` (`'none'` unless a page
/// names its own).
pub fn policy(area: Area<'_>, frame_ancestors: &str) -> String {
    let (script, connect, img) = match area {
        Area::Store {
            analytics: Some(analytics),
            consented: true,
        } => {
            let hosts = analytics_hosts(analytics);
            (hosts.clone(), hosts.clone(), hosts)
        }
        Area::ApiDocs => ("'unsafe-inline'".to_owned(), String::new(), String::new()),
        _ => (String::new(), String::new(), String::new()),
    };
    let extra = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!(" {s}")
        }
    };
    format!(
        "{BASE}; script-src 'self'{}; connect-src 'self'{}; img-src 'self' data:{}; \
         frame-ancestors {frame_ancestors}",
        extra(&script),
        extra(&connect),
        extra(&img)
    )
}

/// The origins an analytics service loads from and reports to.
fn analytics_hosts(analytics: &Analytics) -> String {
    match analytics {
        Analytics::Matomo { url, .. } => reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "https")
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default(),
        Analytics::Google { .. } => {
            "https://www.googletagmanager.com https://*.google-analytics.com \
             https://*.analytics.google.com"
                .to_owned()
        }
    }
}

/// Sets the policy of `area` on `resp`, keeping a `frame-ancestors` the page
/// set itself (the widget's allow-list).
pub fn apply(resp: &mut Response, area: Area<'_>) {
    let own_ancestors = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .map(str::trim)
                .find_map(|d| d.strip_prefix("frame-ancestors "))
                .map(str::to_owned)
        });
    let value = policy(area, own_ancestors.as_deref().unwrap_or("'none'"));
    if let Ok(value) = HeaderValue::from_str(&value) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Did the visitor accept analytics (the consent banner's cookie)?
pub fn consented(req: &poem::Request) -> bool {
    req.header(header::COOKIE).is_some_and(|cookies| {
        cookies
            .split(';')
            .any(|c| c.trim() == "relabel_consent=yes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_page_allows_inline_script_and_analytics_need_consent() {
        let matomo = Analytics::Matomo {
            url: "https://stats.example.com/".into(),
            site_id: "7".into(),
        };
        for area in [
            Area::Admin,
            Area::Store {
                analytics: None,
                consented: true,
            },
            Area::Store {
                analytics: Some(&matomo),
                consented: false,
            },
        ] {
            let p = policy(area, "'none'");
            assert!(p.contains("script-src 'self';"), "{p}");
            assert!(!p.contains("unsafe-inline'; connect"), "{p}");
            assert!(!p.contains("stats.example.com"), "{p}");
            assert!(p.ends_with("frame-ancestors 'none'"), "{p}");
        }
        let p = policy(
            Area::Store {
                analytics: Some(&matomo),
                consented: true,
            },
            "'none'",
        );
        assert!(
            p.contains("script-src 'self' https://stats.example.com;"),
            "{p}"
        );
        // A tracker at a plain-http or odd URL is not allowed in.
        let odd = Analytics::Matomo {
            url: "javascript:alert(1)".into(),
            site_id: "7".into(),
        };
        let p = policy(
            Area::Store {
                analytics: Some(&odd),
                consented: true,
            },
            "'none'",
        );
        assert!(p.contains("script-src 'self';"), "{p}");
    }

    #[test]
    fn the_widget_keeps_its_frame_ancestors() {
        let mut resp = Response::builder()
            .header(
                header::CONTENT_SECURITY_POLICY,
                "frame-ancestors https://agency.example",
            )
            .finish();
        apply(
            &mut resp,
            Area::Store {
                analytics: None,
                consented: false,
            },
        );
        let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            csp.ends_with("frame-ancestors https://agency.example"),
            "{csp}"
        );
    }
}
