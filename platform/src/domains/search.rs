//! The domain search (O1, O2): what the visitor typed becomes one label checked
//! against every enabled TLD's rules, grouped and priced; alternatives are
//! generated from the query and only shown when a registry says they are free.

use super::registrar::{Availability, Registries};
use super::rules::check_label;
use crate::catalog::tld;
use crate::pricing::Pricer;
use std::collections::HashMap;

/// The groups of the result page, in display order.
pub const GROUPS: &[&str] = &["top10", "europe", "gtld", "new-gtld"];

/// Most asked-for endings first (German market); the rest alphabetically.
const POPULAR: &[&str] = &[
    "de", "com", "net", "org", "eu", "info", "io", "co", "uk", "biz", "at", "ch",
];

/// The parsed search: a lowercase Unicode label and, if typed, the wanted TLD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub label: String,
    pub tld: Option<String>,
    /// The words the visitor typed (for keyword variants).
    pub words: Vec<String>,
}

/// `Müller Bau.de` -> label `müllerbau`, tld `de`, words [müller, bau].
/// Errors are codes for field `q`.
pub fn parse_query(input: &str, tlds: &HashMap<String, tld::Model>) -> Result<Query, &'static str> {
    let mut q = input.trim().to_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = q.strip_prefix(scheme) {
            q = rest.to_owned();
        }
    }
    let q = q.trim_start_matches("www.").trim_end_matches(['/', '.']);
    if q.is_empty() {
        return Err("err.domain_empty");
    }
    if q.chars().count() > 253 {
        return Err("err.domain_too_long");
    }
    let (base, tld) = match q.rsplit_once('.') {
        Some((base, t)) if tlds.contains_key(t) => (base.to_owned(), Some(t.to_owned())),
        Some(_) => return Err("err.domain_tld_unknown"),
        None => (q.to_owned(), None),
    };
    if base.contains('.') {
        return Err("err.domain_subdomain");
    }
    let words: Vec<String> = base
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let label = if base.contains(char::is_whitespace) || base.contains('_') {
        words.join("")
    } else {
        base.clone()
    };
    if label.is_empty() {
        return Err("err.domain_empty");
    }
    Ok(Query { label, tld, words })
}

/// One TLD's line of the result page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// Unicode name (`müller.de`).
    pub name: String,
    /// ASCII name sent to the registry; empty when the label is not allowed here.
    pub ascii: String,
    pub tld: String,
    pub product_id: String,
    pub groups: Vec<String>,
    /// Why this TLD cannot take the label (an `err.domain_*` code).
    pub invalid: Option<&'static str>,
    /// Price for one year's registration, as the storefront shows it (net or gross).
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub transfer_price_minor: Option<i64>,
    pub wanted: bool,
    /// `ga`, `upcoming` (pre-registration) or `sunrise` (SMD needed).
    pub phase: String,
    pub ga_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Row {
    /// Whether the registry is asked about this name now (only in general
    /// availability; launching TLDs take pre-registrations and sunrise orders).
    pub fn checkable(&self) -> bool {
        self.invalid.is_none() && self.price_minor.is_some() && self.phase == "ga"
    }
}

fn shown(pricer: &Pricer, product: &str, action: &str) -> Option<(i64, String)> {
    let q = pricer.quote(product, action, 12)?;
    let amount = if pricer.book().tax.show_gross {
        q.gross_minor
    } else {
        q.net_minor
    };
    Some((amount, q.currency))
}

/// The rows for `query` over the enabled TLDs, wanted TLD first, then by group
/// order, in `group` only when given.
pub fn rows(
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
    query: &Query,
    group: Option<&str>,
) -> Vec<Row> {
    let mut out: Vec<Row> = pricer
        .book()
        .domains()
        .iter()
        .filter_map(|(t, product)| {
            let rules = tlds.get(t)?;
            let groups: Vec<String> = rules.groups.split(',').map(str::to_owned).collect();
            let wanted = query.tld.as_deref() == Some(t.as_str());
            if let Some(g) = group
                && !wanted
                && !groups.iter().any(|x| x == g)
            {
                return None;
            }
            let price = shown(pricer, product, "register");
            let (name, ascii, invalid) = match check_label(&query.label, rules) {
                Ok((u, a)) => (format!("{u}.{t}"), format!("{a}.{t}"), None),
                Err(code) => (format!("{}.{t}", query.label), String::new(), Some(code)),
            };
            Some(Row {
                name,
                ascii,
                tld: t.clone(),
                product_id: product.clone(),
                groups,
                invalid,
                currency: price.as_ref().map(|p| p.1.clone()),
                price_minor: price.map(|p| p.0),
                transfer_price_minor: shown(pricer, product, "transfer").map(|p| p.0),
                wanted,
                phase: rules.phase.clone(),
                ga_at: rules.ga_at,
            })
        })
        .collect();
    let rank = |r: &Row| {
        (
            !r.wanted,
            r.groups
                .iter()
                .filter_map(|g| GROUPS.iter().position(|x| x == g))
                .min()
                .unwrap_or(GROUPS.len()),
            POPULAR
                .iter()
                .position(|t| *t == r.tld)
                .unwrap_or(POPULAR.len()),
        )
    };
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.tld.cmp(&b.tld)));
    out
}

const PREFIXES: &[&str] = &["my", "get", "the", "go"];
const SUFFIXES: &[&str] = &["online", "shop", "hq", "app", "web", "24"];

/// Transliterations between German umlauts and their ASCII spellings.
fn umlaut_variants(label: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ascii = label
        .replace('ä', "ae")
        .replace('ö', "oe")
        .replace('ü', "ue")
        .replace('ß', "ss");
    if ascii != label {
        out.push(ascii);
    }
    let umlaut = label
        .replace("ae", "ä")
        .replace("oe", "ö")
        .replace("ue", "ü");
    if umlaut != label && label.is_ascii() {
        out.push(umlaut);
    }
    out
}

/// Alternative labels for `q`, best first: spellings (umlauts), keyword
/// combinations, hyphenation, then prefixes and suffixes. The original label is
/// never among them.
pub fn variants(q: &Query) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if s != q.label && !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    for v in umlaut_variants(&q.label) {
        push(v);
    }
    if q.words.len() > 1 {
        push(q.words.join("-"));
        let mut rev = q.words.clone();
        rev.reverse();
        push(rev.join(""));
    }
    for p in PREFIXES {
        push(format!("{p}{}", q.label));
    }
    for s in SUFFIXES {
        push(format!("{}{s}", q.label));
        push(format!("{}-{s}", q.label));
    }
    out
}

/// A suggestion shown to the visitor: free at the registry, priced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Suggestion {
    pub name: String,
    pub tld: String,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
}

/// Up to `limit` free alternatives in the first `tld_count` TLDs of the result
/// (the wanted one first), checked at the registry before they are shown.
pub async fn suggestions(
    registries: &Registries,
    tenant: &str,
    pricer: &Pricer,
    tlds: &HashMap<String, tld::Model>,
    q: &Query,
    rows: &[Row],
    limit: usize,
) -> Vec<Suggestion> {
    let targets: Vec<&Row> = rows
        .iter()
        .filter(|r| r.price_minor.is_some())
        .take(2)
        .collect();
    let mut candidates: Vec<(String, String, &Row)> = Vec::new();
    for label in variants(q) {
        for row in &targets {
            let Some(rules) = tlds.get(&row.tld) else {
                continue;
            };
            if let Ok((u, a)) = check_label(&label, rules) {
                candidates.push((format!("{u}.{}", row.tld), format!("{a}.{}", row.tld), row));
            }
        }
    }
    candidates.truncate(limit * 3);
    let ascii: Vec<String> = candidates.iter().map(|c| c.1.clone()).collect();
    let answers = registries.check(tenant, &ascii).await;
    candidates
        .into_iter()
        .filter(|(_, a, _)| answers.get(a) == Some(&Availability::Available))
        .take(limit)
        .map(|(name, _, row)| {
            let price = shown(pricer, &row.product_id, "register");
            Suggestion {
                name,
                tld: row.tld.clone(),
                currency: price.as_ref().map(|p| p.1.clone()),
                price_minor: price.map(|p| p.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlds() -> HashMap<String, tld::Model> {
        ["de", "com"]
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    tld::Model {
                        name: t.to_string(),
                        groups: "top10".into(),
                        idn: true,
                        min_length: 1,
                        max_length: 63,
                        periods: "1".into(),
                        transfer_auth_code: true,
                        restore_grace_days: 30,
                        residency: None,
                        created_at: chrono::Utc::now(),
                        phase: "ga".into(),
                        ga_at: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn queries_are_parsed() {
        let t = tlds();
        let q = parse_query("  https://www.Müller-Bau.DE/ ", &t).unwrap();
        assert_eq!(
            (q.label.as_str(), q.tld.as_deref()),
            ("müller-bau", Some("de"))
        );
        assert_eq!(q.words, ["müller", "bau"]);
        let q = parse_query("berlin bakery", &t).unwrap();
        assert_eq!((q.label.as_str(), q.tld), ("berlinbakery", None));
        assert_eq!(parse_query("x.nosuch", &t), Err("err.domain_tld_unknown"));
        assert_eq!(parse_query("a.b.de", &t), Err("err.domain_subdomain"));
        assert_eq!(parse_query("   ", &t), Err("err.domain_empty"));
    }

    #[test]
    fn variants_are_ranked_and_idn_aware() {
        let t = tlds();
        let v = variants(&parse_query("müller", &t).unwrap());
        assert_eq!(v[0], "mueller");
        assert!(v.contains(&"mymüller".to_string()));
        let v = variants(&parse_query("berlin bakery", &t).unwrap());
        assert_eq!(&v[..2], ["berlin-bakery", "bakeryberlin"]);
        assert!(!v.contains(&"berlinbakery".to_string()));
        let v = variants(&parse_query("mueller", &t).unwrap());
        assert_eq!(v[0], "müller");
    }
}
