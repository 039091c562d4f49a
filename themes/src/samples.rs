//! Sample contexts for every storefront page, shaped like what the app passes
//! to [`Themes::render_page`](crate::Themes::render_page) for that page (the
//! handlers in `platform/src/http/store`), so that a reseller's layout or
//! footer can be previewed on each page, in each language, before it goes live.
//!
//! The app's storefront context (`StoreCtx::render`) always carries `csrf`,
//! `flash`, `customer`, `values`, `errors` and `options`; each page adds its
//! own keys. The home page (`render_home`) and the legal pages are rendered
//! without that part, as here.

use minijinja::Value;
use minijinja::value::Serde;
use serde_json::{Value as Json, json};

const CSRF: &str = "csrf-sample-token";

/// Sample contexts for every storefront page: `(page name relative to the theme, e.g. "account/login.html", context)`.
/// The context holds the page's own keys (what the app passes in `ctx` to `Themes::render_page`), not the common keys (brand, look, lang, lang_links, year) that render_page adds.
///
/// Most pages come in several variants (signed in or not, a flash message, a
/// form with errors, ...): a name appears once per variant.
pub(crate) fn pages() -> Vec<(&'static str, Value)> {
    let mut out: Vec<(&'static str, Json)> = Vec::new();
    out.extend(home_and_legal());
    out.extend(prices());
    out.extend(search());
    out.extend(cart());
    out.extend(checkout());
    out.extend(sign_in_and_up());
    out.extend(account());
    out.extend(orders());
    out.extend(domains());
    out.extend(invoices());
    out.extend(newsletter());
    out.extend(widget());
    out.into_iter()
        .map(|(name, ctx)| (name, Value::from(Serde(ctx))))
        .collect()
}

// ---- building blocks ----------------------------------------------------------

/// The signed-in customer as `StoreCtx::render` passes it.
fn customer() -> Json {
    json!({ "number": "K-10042", "name": "Erika Mustermann", "email": "erika@example.com" })
}

/// A customer who signed up at checkout and has no number yet.
fn new_customer() -> Json {
    json!({ "number": null, "name": "Max Muster", "email": "max@example.com" })
}

/// The select options of every account form (`page::options`).
fn options() -> Json {
    json!({
        "countries": [
            {"code": "DE", "name": "Deutschland"},
            {"code": "AT", "name": "Österreich"},
            {"code": "CH", "name": "Schweiz"},
        ],
        "languages": [
            {"value": "de", "label": "Deutsch"},
            {"value": "en", "label": "English"},
        ],
        "kinds": [
            {"value": "person", "label": "Private customer"},
            {"value": "company", "label": "Company customer"},
        ],
        "newsletter_categories": [
            {"value": "offers", "label": "Offers"},
            {"value": "product_news", "label": "Product news"},
        ],
    })
}

/// What `StoreCtx::render` puts into every storefront page's context.
fn store(customer: Option<Json>) -> Json {
    json!({
        "csrf": CSRF,
        "flash": [],
        "customer": customer,
        "values": {},
        "errors": {},
        "options": options(),
    })
}

/// `base` with the keys of `extra` (overwriting).
fn with(mut base: Json, extra: Json) -> Json {
    if let (Some(base), Json::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

fn anonymous(extra: Json) -> Json {
    with(store(None), extra)
}

fn signed_in(extra: Json) -> Json {
    with(store(Some(customer())), extra)
}

fn flash(kind: &str, message: &str) -> Json {
    json!([{ "kind": kind, "message": message }])
}

// ---- public pages -------------------------------------------------------------

fn home_and_legal() -> Vec<(&'static str, Json)> {
    vec![
        // render_home: nothing but the common keys.
        ("home.html", json!({})),
        (
            "legal.html",
            json!({
                "title": "Imprint",
                "paragraphs": [
                    "Example Ltd., 1 Example Street, 12345 Example Town",
                    "Managing director: Jane Doe",
                ],
            }),
        ),
    ]
}

fn price_rows() -> Json {
    json!([
        {"tld": "de", "register": "5.90", "transfer": "0.00", "renew": "5.90"},
        {"tld": "com", "register": "11.90", "transfer": "11.90", "renew": "13.90"},
        {"tld": "shop", "register": "29.00", "transfer": "–", "renew": "39.00"},
    ])
}

fn prices() -> Vec<(&'static str, Json)> {
    let page = |vat_note: &str| json!({ "rows": price_rows(), "currency": "EUR", "vat_note": vat_note, "vat_rate": "19" });
    vec![
        ("prices.html", anonymous(page("gross"))),
        ("prices.html", signed_in(page("net"))),
        ("prices.html", signed_in(page("reverse_charge"))),
        ("prices.html", signed_in(page("export"))),
        (
            "prices.html",
            anonymous(
                json!({ "rows": [], "currency": "EUR", "vat_note": "net", "vat_rate": "19" }),
            ),
        ),
    ]
}

/// The keys of every search page (`shop::search_page`).
fn search_base(q: &str, group: &str) -> Json {
    json!({
        "q": q, "group": group,
        "groups": ["top10", "europe", "gtld", "new-gtld"],
        "show_gross": false,
    })
}

fn search_row(name: &str, status: &str, price: Option<&str>) -> Json {
    let tld = name.rsplit('.').next().unwrap_or(name);
    json!({
        "name": name, "ascii": name, "tld": tld, "groups": ["top10"],
        "invalid": if status == "invalid" { json!("This name is not allowed under this TLD.") } else { Json::Null },
        "price": price,
        "transfer_price": price,
        "ga_at": if status == "preregister" || status == "sunrise" { json!("2026-09-01") } else { Json::Null },
        "status": status,
        "wanted": name.ends_with(".de"),
    })
}

fn search() -> Vec<(&'static str, Json)> {
    let rows = json!([
        search_row("example.de", "available", Some("5.90 EUR")),
        search_row("example.com", "taken", Some("11.90 EUR")),
        search_row("example.net", "unknown", Some("12.90 EUR")),
        search_row("example.berlin", "preregister", Some("39.00 EUR")),
        search_row("example.app", "sunrise", Some("250.00 EUR")),
        search_row("example.xyz", "not_offered", None),
        search_row("ex--ample.at", "invalid", None),
        search_row("example.eu", "checking", Some("6.90 EUR")),
    ]);
    let results = |q: &str, group: &str, live: bool, gross: bool| {
        with(
            search_base(q, group),
            json!({
                "searched": true,
                "live": live,
                "label": "example",
                "rows": rows,
                "suggestions": if live { json!([]) } else { json!([
                    {"name": "my-example.de", "tld": "de", "price": "5.90 EUR"},
                    {"name": "example-shop.com", "tld": "com", "price": "11.90 EUR"},
                ]) },
                "aftermarket": if live { json!([]) } else { json!([
                    {"name": "example.com", "price": "2500.00 EUR", "seller_ref": "SEDO-4711"},
                ]) },
                "show_gross": gross,
                "periods": 1,
            }),
        )
    };
    let failed = |q: &str, searched: bool| {
        with(
            search_base(q, ""),
            json!({ "error": "Please enter a domain name.", "searched": searched }),
        )
    };
    vec![
        // No query yet: the form only.
        ("search.html", anonymous(failed("", false))),
        // A query no TLD accepts: the field's error.
        ("search.html", anonymous(failed("-invalid-", true))),
        (
            "search.html",
            anonymous(results("example", "", false, false)),
        ),
        (
            "search.html",
            signed_in(results("example.de", "europe", false, true)),
        ),
        // With JavaScript: rendered at once, the answers stream in.
        (
            "search.html",
            anonymous(results("example", "gtld", true, false)),
        ),
    ]
}

// ---- cart and checkout ----------------------------------------------------------

/// A priced cart line (`shop::cart_view`).
#[allow(clippy::too_many_arguments)]
fn cart_line(
    id: &str,
    name: &str,
    is_domain: bool,
    action: &str,
    period_months: i32,
    periods: &[i32],
    net: &str,
    discount: Option<&str>,
) -> Json {
    json!({
        "id": id, "name": name, "is_domain": is_domain,
        "action": action, "period_months": period_months,
        "periods": periods,
        "trustee": false,
        "contact_id": null,
        "trustee_offered": false,
        "net": net,
        "discount": discount,
        "error": null,
    })
}

/// A cart with a domain of each kind, a product, a line that no longer
/// validates, a coupon and cross-selling; `holders` are the signed-in
/// customer's contacts.
fn full_cart(holders: Json) -> Json {
    json!({
        "holders": holders,
        "id": "CART-7F3A",
        "lines": full_lines(),
        "count": 6,
        "net": "349.11 EUR", "vat": "66.33 EUR", "gross": "415.44 EUR",
        "discount": "0.59 EUR",
        "coupon": "SPRING10",
        "cross_sell": [
            {"id": "hosting-s", "name": "Web Hosting S", "monthly": "4.90 EUR"},
            {"id": "mail-pro", "name": "Mail Pro", "monthly": "2.50 EUR"},
        ],
        "domains": ["müller-example.de", "example.com"],
        "vat_rate": "19",
    })
}

/// One domain, no coupon, nothing to cross-sell.
fn small_cart() -> Json {
    json!({
        "holders": [],
        "id": "CART-2B9C",
        "lines": [cart_line("i1", "example.de", true, "register", 12, &[12], "5.90 EUR", None)],
        "count": 1,
        "net": "5.90 EUR", "vat": "1.12 EUR", "gross": "7.02 EUR",
        "discount": null,
        "coupon": null,
        "cross_sell": [],
        "domains": ["example.de"],
        "vat_rate": "19",
    })
}

fn holders() -> Json {
    json!([
        {"id": "c1", "label": "Erika Mustermann, DE"},
        {"id": "c2", "label": "Max Muster (Muster GmbH), AT"},
    ])
}

fn cart() -> Vec<(&'static str, Json)> {
    let empty = json!({
        "holders": [], "id": "CART-0000", "lines": [], "count": 0,
        "net": "0.00 EUR", "vat": "0.00 EUR", "gross": "0.00 EUR", "discount": null,
        "coupon": null, "cross_sell": [], "domains": [], "vat_rate": "19",
    });
    vec![
        // No cart in the session yet.
        (
            "cart.html",
            anonymous(json!({ "cart": null, "errors": {} })),
        ),
        // A cart whose items were all removed.
        (
            "cart.html",
            anonymous(json!({ "cart": empty, "errors": {} })),
        ),
        (
            "cart.html",
            anonymous(json!({ "cart": small_cart(), "errors": {} })),
        ),
        (
            "cart.html",
            anonymous(json!({ "cart": full_cart(json!([])), "errors": {} })),
        ),
        // Signed in without contacts: the link to add a holder.
        (
            "cart.html",
            signed_in(json!({ "cart": full_cart(json!([])), "errors": {} })),
        ),
        // Signed in with contacts; a refused coupon.
        (
            "cart.html",
            signed_in(json!({
                "cart": full_cart(holders()),
                "errors": {"coupon": "This coupon code is not known."},
            })),
        ),
        // An item that could not be added, with a flash from another page.
        (
            "cart.html",
            with(
                anonymous(json!({
                    "cart": small_cart(),
                    "errors": {"domain": "This domain is already in your cart.", "period": "This period is not offered."},
                })),
                json!({ "flash": flash("info", "Your cart has been kept for you.") }),
            ),
        ),
    ]
}

/// Every line of `full_cart`.
fn full_lines() -> Json {
    let mut de = cart_line(
        "i1",
        "müller-example.de",
        true,
        "register",
        12,
        &[12, 24, 36],
        "5.90 EUR",
        Some("0.59 EUR"),
    );
    de["trustee_offered"] = json!(true);
    de["trustee"] = json!(true);
    de["contact_id"] = json!("c2");
    let mut transfer = cart_line(
        "i2",
        "example.com",
        true,
        "transfer",
        12,
        &[12],
        "11.90 EUR",
        None,
    );
    transfer["trustee_offered"] = json!(true);
    json!([
        de,
        transfer,
        cart_line("i3", "example.berlin", true, "preregister", 24, &[12, 24], "78.00 EUR", None),
        cart_line("i4", "example.app", true, "sunrise", 12, &[12], "250.00 EUR", None),
        cart_line("i5", "Web Hosting S", false, "register", 1, &[1, 12], "4.90 EUR", None),
        {
            "id": "i6", "name": "example.old", "is_domain": true, "action": "register",
            "period_months": 12, "error": "This TLD is not offered.", "net": null, "discount": null,
        },
    ])
}

fn checkout() -> Vec<(&'static str, Json)> {
    let cart = full_cart(json!([]));
    // `render_checkout` fills in these defaults for a new customer.
    let defaults = json!({ "country": "DE", "kind": "person", "language": "en" });
    // `account::signup_values` of a refused form: every signup field, as typed.
    let typed = json!({
        "kind": "company", "first_name": "Max", "last_name": "", "company": "Muster GmbH",
        "email": "max@example", "street": "Musterweg 1", "postal_code": "1010", "city": "Wien",
        "country": "AT", "phone": "", "language": "de", "accept_terms": "",
    });
    vec![
        (
            "checkout.html",
            anonymous(json!({ "cart": cart, "values": defaults, "errors": {} })),
        ),
        (
            "checkout.html",
            anonymous(json!({ "cart": small_cart(), "values": typed, "errors": {
                "last_name": "Please fill in this field.",
                "email": "Please enter a valid email address.",
                "password": "The password must have at least 10 characters.",
                "accept_terms": "Please accept the terms and conditions to continue.",
            } })),
        ),
        (
            "checkout.html",
            signed_in(json!({ "cart": cart, "values": defaults, "errors": {} })),
        ),
        // Signed in, the terms not accepted.
        (
            "checkout.html",
            signed_in(json!({ "cart": small_cart(), "values": {}, "errors": {
                "accept_terms": "Please accept the terms and conditions to continue.",
            } })),
        ),
        // A customer who signed up at an earlier checkout and has no number yet.
        (
            "checkout.html",
            with(
                store(Some(new_customer())),
                json!({ "cart": small_cart(), "values": defaults, "errors": {} }),
            ),
        ),
    ]
}

// ---- signing in and up ----------------------------------------------------------

fn signup_errors() -> Json {
    json!({
        "email": "Please enter a valid email address.",
        "password": "The password must have at least 10 characters.",
        "country": "Please choose a country.",
        "accept_terms": "Please accept the terms and conditions to continue.",
    })
}

fn sign_in_and_up() -> Vec<(&'static str, Json)> {
    let typed = json!({
        "kind": "company", "first_name": "<Erika>", "last_name": "Mustermann",
        "company": "Muster & Söhne", "email": "erika@", "street": "Musterstraße 1",
        "postal_code": "10115", "city": "Berlin", "country": "", "phone": "+49 30 1234567",
        "language": "de", "accept_terms": "",
    });
    vec![
        (
            "account/signup.html",
            anonymous(json!({ "values": { "kind": "person", "country": "DE", "language": "en" } })),
        ),
        (
            "account/signup.html",
            anonymous(json!({ "values": typed, "errors": signup_errors() })),
        ),
        (
            "account/login.html",
            anonymous(json!({ "error": null, "next": null })),
        ),
        // Sent to sign in from the checkout; signed out a moment ago.
        (
            "account/login.html",
            with(
                anonymous(json!({ "error": null, "next": "/checkout" })),
                json!({ "flash": flash("success", "You have been signed out.") }),
            ),
        ),
        (
            "account/login.html",
            anonymous(json!({
                "error": "Email address or password is incorrect.",
                "values": { "email": "erika@example.com" },
                "next": null,
            })),
        ),
        (
            "account/message.html",
            anonymous(json!({
                "heading": "Check your inbox",
                "message": "We have sent you a link to confirm your email address.",
                "link": null,
            })),
        ),
        (
            "account/message.html",
            anonymous(json!({
                "heading": "This link is no longer valid",
                "message": "The link has expired or has already been used.",
                "link": { "href": "/account/login", "label": "Go to sign in" },
            })),
        ),
        ("account/reset_request.html", anonymous(json!({}))),
        (
            "account/reset.html",
            anonymous(json!({ "token": "reset-token-abc" })),
        ),
        (
            "account/reset.html",
            anonymous(json!({ "token": "reset-token-abc", "errors": {
                "password": "The password must have at least 10 characters.",
                "password_confirm": "The passwords do not match.",
            } })),
        ),
    ]
}

// ---- the customer centre -------------------------------------------------------

fn sessions() -> Json {
    json!([
        {
            "id": "s1",
            "user_agent": "Firefox on Linux",
            "ip": "192.0.2.10",
            "created_at": "2026-03-01 09:15 UTC",
            "last_seen_at": "2026-03-02 18:40 UTC",
            "current": true,
        },
        {
            "id": "s2",
            "user_agent": null,
            "ip": null,
            "created_at": "2026-02-11 07:02 UTC",
            "last_seen_at": "2026-02-12 21:30 UTC",
            "current": false,
        },
    ])
}

/// `account::profile_values` of the sample customer.
fn profile_values() -> Json {
    json!({
        "kind": "person", "first_name": "Erika", "last_name": "Mustermann", "company": null,
        "street": "Musterstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE",
        "phone": "+49 30 1234567", "vat_id": null, "language": "de",
        "iban": "DE02 1203 0000 0000 2020 51", "bic": "BYLADEM1001", "account_holder": "Erika Mustermann",
        "newsletter": ["offers"],
    })
}

fn account() -> Vec<(&'static str, Json)> {
    let security = |extra: Json| {
        signed_in(with(
            json!({ "section": "security", "sessions": sessions() }),
            extra,
        ))
    };
    vec![
        (
            "account/overview.html",
            signed_in(json!({ "section": "overview" })),
        ),
        (
            "account/overview.html",
            with(
                store(Some(new_customer())),
                json!({ "section": "overview", "flash": flash("success", "Welcome! Your email address is confirmed.") }),
            ),
        ),
        (
            "account/profile.html",
            signed_in(json!({ "section": "profile", "values": profile_values(), "mandate": null })),
        ),
        (
            "account/profile.html",
            signed_in(json!({
                "section": "profile", "values": profile_values(),
                "mandate": { "reference": "RL-2026-0001", "signed_on": "2026-03-01" },
                "flash": flash("success", "Your details have been saved."),
            })),
        ),
        (
            "account/profile.html",
            signed_in(json!({
                "section": "profile",
                "values": with(profile_values(), json!({ "postal_code": "1", "iban": "DE00" })),
                "errors": {
                    "postal_code": "Please enter a valid postal code.",
                    "iban": "Please enter a valid IBAN.",
                },
                "mandate": null,
            })),
        ),
        ("account/security.html", security(json!({}))),
        ("account/security.html", security(json!({ "sessions": [] }))),
        // The password form refused.
        (
            "account/security.html",
            security(json!({ "errors": {
                "current_password": "The password is incorrect.",
                "password_confirm": "The passwords do not match.",
            } })),
        ),
        // The email form refused.
        (
            "account/security.html",
            security(json!({
                "values": { "email": "erika@example" },
                "errors": { "email": "Please enter a valid email address." },
            })),
        ),
        (
            "account/security.html",
            security(
                json!({ "flash": flash("success", "You have been signed out on all other devices.") }),
            ),
        ),
    ]
}

fn order(status: &str, number: Option<&str>, discount: bool) -> Json {
    json!({
        "id": "o-1042", "number": number, "status": status, "cart_id": "CART-7F3A",
        "net": "20.00 EUR", "vat": "3.80 EUR", "gross": "23.80 EUR",
        "discount": if discount { json!("2.00 EUR") } else { Json::Null },
        "coupon": if discount { json!("SPRING10") } else { Json::Null },
        "created_at": "2026-03-01 09:15",
        "case_number": (status == "review").then_some("K-000017"),
    })
}

fn order_items(done: bool) -> Json {
    let item = |name: &str, provisioning: Option<&str>, error: Option<&str>, link: bool| {
        json!({
            "name": name, "action": "register", "period_months": 12, "gross": "7.02 EUR",
            "provisioning": provisioning, "error": error,
            "domain_link": if link { json!(name) } else { Json::Null },
        })
    };
    if done {
        json!([
            item("example.de", Some("done"), None, true),
            item("Web Hosting S", Some("done"), None, false),
        ])
    } else {
        json!([
            item("example.de", None, None, false),
            item("example.com", Some("queued"), None, false),
            item("example.net", Some("running"), None, false),
            item(
                "example.org",
                Some("failed"),
                Some("The registry refused the name."),
                false
            ),
            item("example.eu", Some("retrying"), None, false),
        ])
    }
}

fn orders() -> Vec<(&'static str, Json)> {
    let page = |order: Json, items: Json, case: Json, errors: Json| {
        signed_in(json!({ "errors": errors, "order": order, "items": items, "case": case }))
    };
    let list = json!([
        order("completed", Some("A-1042"), true),
        order("accepted", Some("A-1043"), false),
        order("review", None, false),
        order("rejected", None, false),
        order("awaiting_code", None, false),
        order("received", None, false),
    ]);
    vec![
        ("account/orders.html", signed_in(json!({ "orders": [] }))),
        ("account/orders.html", signed_in(json!({ "orders": list }))),
        (
            "account/order.html",
            page(
                order("completed", Some("A-1042"), true),
                order_items(true),
                Json::Null,
                json!({}),
            ),
        ),
        (
            "account/order.html",
            page(
                order("accepted", Some("A-1043"), false),
                order_items(false),
                Json::Null,
                json!({}),
            ),
        ),
        // Under review with a case number and the team's question.
        (
            "account/order.html",
            page(
                order("review", None, false),
                order_items(false),
                json!({ "number": "R-7", "reason": "credit_limit", "status": "waiting", "note": "Please send us a copy of your trade register entry." }),
                json!({}),
            ),
        ),
        (
            "account/order.html",
            page(
                order("review", None, false),
                order_items(false),
                json!({ "number": "R-8", "reason": "risk", "status": "open", "note": null }),
                json!({}),
            ),
        ),
        // Waiting for the SMS code; a wrong code was entered.
        (
            "account/order.html",
            page(
                order("awaiting_code", None, false),
                order_items(false),
                Json::Null,
                json!({ "code": "The code is not correct." }),
            ),
        ),
        (
            "account/order.html",
            page(
                order("rejected", None, false),
                order_items(false),
                json!({ "number": "R-9", "reason": "manual", "status": "rejected", "note": null }),
                json!({}),
            ),
        ),
        (
            "account/order.html",
            page(
                order("received", None, false),
                order_items(false),
                Json::Null,
                json!({}),
            ),
        ),
    ]
}

fn domain(name: &str, display: &str, status: &str, own_nameservers: bool) -> Json {
    json!({
        "name": name,
        "display": display,
        "status": status,
        "expires": if status == "pending" { Json::Null } else { json!("2027-03-01") },
        "transfer_lock": true,
        "own_nameservers": own_nameservers,
        "nameservers": if own_nameservers {
            json!(["ns1.own-dns.example", "ns2.own-dns.example"])
        } else {
            json!(["ns1.shop.example", "ns2.shop.example"])
        },
        // Glue addresses per nameserver, as sent to the registry.
        "glue": if own_nameservers { json!(["192.0.2.53", ""]) } else { json!(["", ""]) },
    })
}

/// A serialized service entry (`provisioning::service::Model`) with its
/// hosting account as `domains_page` adds it.
fn service(id: &str, label: &str, status: &str, ends_at: Option<&str>, account: Json) -> Json {
    json!({
        "id": id, "customer_id": "cu1", "product_id": "hosting-s", "order_id": "o-1042",
        "order_item_id": "oi1", "domain_id": null, "kind": "hosting", "label": label,
        "period_months": 1, "price_source": "class", "net_minor": 490, "currency": "EUR",
        "quantity": 1, "started_at": "2026-03-01T09:15:00Z", "next_billing_at": "2026-04-01T00:00:00Z",
        "ends_at": ends_at, "cancellation": "", "status": status,
        "created_at": "2026-03-01T09:15:00Z", "updated_at": "2026-03-01T09:15:00Z",
        "account": account,
    })
}

fn domain_page(domain: Json, editable: bool, offer: Json, extra: Json) -> Json {
    let records = json!([
        {"name": "@", "rtype": "A", "ttl": 3600, "priority": null, "content": "192.0.2.1"},
        {"name": "@", "rtype": "MX", "ttl": 3600, "priority": 10, "content": "mx.shop.example."},
        {"name": "www", "rtype": "CNAME", "ttl": 3600, "priority": null, "content": "example.de."},
        {"name": "", "rtype": "", "ttl": 3600, "priority": null, "content": ""},
        {"name": "", "rtype": "", "ttl": 3600, "priority": null, "content": ""},
        {"name": "", "rtype": "", "ttl": 3600, "priority": null, "content": ""},
    ]);
    signed_in(with(
        json!({
            "domain": domain,
            "records": records,
            "types": ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"],
            "errors": {},
            "auth_code": null,
            "editable": editable,
            "offer": offer,
            "web": [
                {"host": "shop", "target": "https://shop.example.org/", "mode": "301", "title": null},
                {"host": "", "target": "", "mode": "301", "title": null},
            ],
            "mail": [
                {"local_part": "info", "target": "erika@example.com"},
                {"local_part": "", "target": ""},
                {"local_part": "", "target": ""},
            ],
            "parking": null,
            "contacts": [
                {"id": "c1", "label": "Erika Mustermann, DE"},
                {"id": "c2", "label": "Max Muster (Muster GmbH), AT"},
            ],
            "parking_providers": ["sedo", "namedrive"],
            "ops": [
                {"op": "create", "code": 1000, "outcome": "done", "at": "2026-03-01 09:16"},
                {"op": "lock_on", "code": 1000, "outcome": "done", "at": "2026-03-01 09:16"},
                {"op": "nameservers", "code": 2306, "outcome": "refused", "at": "2026-03-02 10:00"},
                {"op": "zone", "code": null, "outcome": null, "at": "2026-03-02 10:01"},
            ],
        }),
        extra,
    ))
}

fn domains() -> Vec<(&'static str, Json)> {
    let active = domain(
        "xn--mller-example-4ob.de",
        "müller-example.de",
        "active",
        false,
    );
    let list = json!([
        active,
        domain("example.com", "example.com", "pending_transfer", false),
        domain("example.net", "example.net", "active", true),
        domain("example.org", "example.org", "grace", false),
        domain("example.info", "example.info", "redemption", false),
        domain("example.eu", "example.eu", "pending", false),
    ]);
    let services = json!([
        service(
            "sv1",
            "Web Hosting S",
            "active",
            None,
            json!({ "username": "web4711", "status": "active", "password_pending": true })
        ),
        service(
            "sv2",
            "Mail Pro",
            "active",
            Some("2026-06-30T23:59:59Z"),
            json!({ "username": "mail4711", "status": "active", "password_pending": false })
        ),
        service(
            "sv3",
            "Web Hosting M",
            "active",
            None,
            json!({ "username": "web4712", "status": "pending", "password_pending": false })
        ),
        service(
            "sv4",
            "Web Hosting L",
            "terminated",
            Some("2026-02-28T23:59:59Z"),
            Json::Null
        ),
    ]);
    let addons = json!([
        {"id": "hosting-s", "name": "Web Hosting S", "monthly": "4.90 EUR"},
        {"id": "mail-pro", "name": "Mail Pro", "monthly": "2.50 EUR"},
    ]);
    vec![
        (
            "account/domains.html",
            signed_in(json!({ "domains": [], "services": [], "addons": [] })),
        ),
        (
            "account/domains.html",
            signed_in(json!({ "domains": list, "services": services, "addons": addons })),
        ),
        (
            "account/domain.html",
            domain_page(active.clone(), true, Json::Null, json!({})),
        ),
        // Records refused, the AuthCode just requested, parked.
        (
            "account/domain.html",
            domain_page(
                active.clone(),
                true,
                Json::Null,
                json!({
                    "errors": {
                        "records.0.content": "Please enter an IPv4 address.",
                        "records.1.priority": "Please enter a number from 0 to 65535.",
                        "ns.0.host": "Please enter a host name.",
                        "web.0.target": "Please enter a web address.",
                        "mail.0.target": "Please enter a valid email address.",
                        "contact_id": "Please choose a contact.",
                    },
                    "auth_code": "Xy7#kL2!pQ9",
                    "parking": "sedo",
                    "flash": flash("error", "The registry did not answer. Please try again later."),
                }),
            ),
        ),
        // Own nameservers, no contacts, no history.
        (
            "account/domain.html",
            domain_page(
                domain("example.net", "example.net", "active", true),
                false,
                Json::Null,
                json!({ "contacts": [], "ops": [] }),
            ),
        ),
        (
            "account/domain.html",
            domain_page(
                domain("example.org", "example.org", "grace", false),
                false,
                json!({ "renew": "14.16 EUR", "restore": "94.01 EUR" }),
                json!({}),
            ),
        ),
        (
            "account/domain.html",
            domain_page(
                domain("example.info", "example.info", "redemption", false),
                false,
                json!({ "renew": null, "restore": "94.01 EUR" }),
                json!({}),
            ),
        ),
        (
            "account/domain.html",
            domain_page(
                domain("example.eu", "example.eu", "pending", false),
                false,
                Json::Null,
                json!({}),
            ),
        ),
        (
            "account/credentials.html",
            signed_in(json!({
                "service": "Web Hosting S", "username": "web4711",
                "server": "web01.shop.example", "password": "s3cret-Pa55word",
            })),
        ),
        // Shown once already; the server since removed.
        (
            "account/credentials.html",
            signed_in(json!({
                "service": "Web Hosting S", "username": "web4711",
                "server": null, "password": null,
            })),
        ),
    ]
}

/// A serialized contact (`contacts::Contact`).
fn contact(id: &str, first: &str, last: &str, organization: Option<&str>, country: &str) -> Json {
    json!({
        "id": id, "customer_id": "cu1", "first_name": first, "last_name": last,
        "organization": organization, "street": "Musterstraße 1", "postal_code": "10115",
        "city": "Berlin", "country": country, "email": "contact@example.com", "phone": null,
        "created_at": "2026-03-01T09:15:00Z",
    })
}

fn invoices() -> Vec<(&'static str, Json)> {
    let doc = |id: &str, kind: &str, number: &str, status: &str, level: i32, einvoice: &str| {
        json!({
            "id": id, "kind": kind, "number": number, "status": status,
            "issued": "2026-03-01", "due": "2026-03-15",
            "net": "20,00 EUR", "vat": "3,80 EUR", "gross": "23,80 EUR",
            "open": if status == "open" { "23,80 EUR" } else { "0,00 EUR" },
            "is_open": kind == "invoice" && status == "open",
            "refers_to": if kind == "credit_note" { json!("RE-2026-000041") } else { Json::Null },
            "refers_to_id": if kind == "credit_note" { json!("inv41") } else { Json::Null },
            "einvoice": einvoice, "delivery": "email", "delivered": "2026-03-01 09:20",
            "customer_id": "cu1", "level": level,
            "fees": if level > 0 { json!("5,00 EUR") } else { Json::Null },
            "interest": if level > 1 { json!("0,51 EUR") } else { Json::Null },
            "court": null,
            // A direct debit pending: the day it is collected.
            "collect_on": if status == "collection_pending" { json!("2026-03-17") } else { Json::Null },
        })
    };
    let documents = json!([
        doc(
            "inv43",
            "invoice",
            "RE-2026-000043",
            "collection_pending",
            0,
            "none"
        ),
        doc("inv42", "invoice", "RE-2026-000042", "open", 0, "none"),
        doc("inv41", "invoice", "RE-2026-000041", "open", 2, "xrechnung"),
        doc("inv40", "invoice", "RE-2026-000040", "paid", 0, "zugferd"),
        doc("cn1", "credit_note", "GS-2026-000001", "paid", 0, "none"),
        doc("inv39", "invoice", "RE-2026-000039", "cancelled", 4, "none"),
    ]);
    let payments = json!([
        {"kind": "payment", "at": "2026-02-20", "amount": "23,80 EUR", "note": "SEPA direct debit"},
        {"kind": "topup", "at": "2026-02-01", "amount": "50,00 EUR", "note": null},
    ]);
    vec![
        (
            "account/invoices.html",
            signed_in(json!({
                "documents": [], "online": false, "payments": [],
                "balance": "0,00 EUR", "open": "0,00 EUR",
            })),
        ),
        (
            "account/invoices.html",
            signed_in(json!({
                "documents": documents, "online": true, "payments": payments,
                "balance": "-47,60 EUR", "open": "47,60 EUR",
                "flash": flash("success", "Thank you, your payment is being processed."),
            })),
        ),
        (
            "account/invoices.html",
            signed_in(json!({
                "documents": documents, "online": false, "payments": [],
                "balance": "-47,60 EUR", "open": "47,60 EUR",
            })),
        ),
        (
            "account/contacts.html",
            signed_in(json!({ "contacts": [], "values": { "country": "DE" }, "errors": {} })),
        ),
        (
            "account/contacts.html",
            signed_in(json!({
                "contacts": [
                    contact("c1", "Erika", "Mustermann", None, "DE"),
                    contact("c2", "Max", "Muster", Some("Muster GmbH"), "AT"),
                ],
                "values": { "country": "DE" },
                "errors": {},
            })),
        ),
        // Refused, from the cart's "add a holder" link (`back`).
        (
            "account/contacts.html",
            signed_in(json!({
                "contacts": [contact("c1", "Erika", "Mustermann", None, "DE")],
                "values": {
                    "first_name": "Max", "last_name": "", "organization": "", "street": "Musterweg 1",
                    "postal_code": "1010", "city": "Wien", "country": "AT", "email": "max@",
                    "phone": "", "back": "/cart",
                },
                "errors": {
                    "last_name": "Please fill in this field.",
                    "email": "Please enter a valid email address.",
                },
            })),
        ),
    ]
}

// ---- newsletter and widget -------------------------------------------------------

fn newsletter() -> Vec<(&'static str, Json)> {
    let category = |id: &str,
                    name: &str,
                    description: Option<&str>,
                    checked: bool,
                    status: Option<&str>| {
        json!({
            "id": id, "name": name, "description": description, "checked": checked,
            "status": status,
            "token": if status == Some("confirmed") { json!(format!("unsub-{id}")) } else { Json::Null },
        })
    };
    // The newsletter pages are rendered without the customer (`newsletter::ctx`).
    vec![
        (
            "newsletter.html",
            anonymous(json!({ "categories": [], "values": { "email": "" }, "errors": {} })),
        ),
        (
            "newsletter.html",
            anonymous(json!({
                "categories": [
                    category("offers", "Offers", Some("Our best prices, once a month."), false, None),
                    category("product_news", "Product news", None, false, None),
                ],
                "values": { "email": "" },
                "errors": {},
            })),
        ),
        // A signed-in customer's own subscriptions (their address filled in).
        (
            "newsletter.html",
            anonymous(json!({
                "categories": [
                    category("offers", "Offers", Some("Our best prices, once a month."), false, Some("confirmed")),
                    category("product_news", "Product news", None, true, Some("pending")),
                    category("events", "Events", None, false, Some("unsubscribed")),
                ],
                "values": { "email": "erika@example.com" },
                "errors": {},
            })),
        ),
        (
            "newsletter.html",
            anonymous(json!({
                "categories": [
                    category("offers", "Offers", None, false, None),
                    category("product_news", "Product news", None, false, None),
                ],
                "values": { "email": "erika@" },
                "errors": {
                    "categories": "Please choose at least one newsletter.",
                    "email": "Please enter a valid email address.",
                },
            })),
        ),
        (
            "newsletter_unsubscribe.html",
            anonymous(json!({ "token": "unsub-offers" })),
        ),
    ]
}

fn widget() -> Vec<(&'static str, Json)> {
    vec![(
        "widget.html",
        anonymous(json!({ "values": { "kind": "person", "country": "DE", "language": "en" } })),
    )]
}

#[cfg(test)]
mod tests {
    use crate::{Brand, Lang, LangLink, Look, StorePage, Themes};

    fn brand() -> Brand {
        Brand {
            name: "Acme Hosting".to_owned(),
            primary_color: "#0a7b83".to_owned(),
            accent_color: "#ffb400".to_owned(),
            logo_url: None,
        }
    }

    /// Every storefront page: the `default/**.html` templates, relative to the
    /// theme, except partials (`_*.html`) and layouts (templates that others
    /// extend, `base.html`), which are never rendered on their own.
    fn storefront_pages() -> Vec<&'static str> {
        let templates = super::super::TEMPLATES;
        let is_layout = |name: &str| {
            templates
                .iter()
                .any(|(_, source)| source.contains(&format!("{{% extends \"{name}\" %}}")))
        };
        templates
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !is_layout(name))
            .filter_map(|name| name.strip_prefix("default/"))
            .filter(|name| name.ends_with(".html"))
            .filter(|name| !name.rsplit('/').next().unwrap_or(name).starts_with('_'))
            .collect()
    }

    #[test]
    fn every_storefront_page_has_a_sample() {
        let pages = storefront_pages();
        assert!(pages.len() >= 24, "{pages:?}");
        assert!(pages.contains(&"account/login.html") && !pages.contains(&"base.html"));
        let samples = super::pages();
        for page in &pages {
            assert!(
                samples.iter().any(|(name, _)| name == page),
                "{page} has no sample context in samples.rs"
            );
        }
        for (name, _) in &samples {
            assert!(pages.contains(name), "{name} is not a storefront page");
        }
    }

    #[test]
    fn pages_with_states_have_several_variants() {
        let samples = super::pages();
        let count = |page: &str| samples.iter().filter(|(name, _)| *name == page).count();
        for page in [
            "cart.html",
            "checkout.html",
            "search.html",
            "prices.html",
            "account/signup.html",
            "account/login.html",
            "account/message.html",
            "account/reset.html",
            "account/overview.html",
            "account/profile.html",
            "account/security.html",
            "account/orders.html",
            "account/order.html",
            "account/domains.html",
            "account/domain.html",
            "account/credentials.html",
            "account/contacts.html",
            "account/invoices.html",
            "newsletter.html",
        ] {
            assert!(count(page) >= 2, "{page}: {}", count(page));
        }
        for page in ["cart.html", "checkout.html", "account/order.html"] {
            assert!(count(page) >= 5, "{page}: {}", count(page));
        }
    }

    #[test]
    fn every_sample_renders_in_every_language() {
        let themes = Themes::new();
        let brand = brand();
        let look = Look::default();
        for (index, (name, ctx)) in super::pages().into_iter().enumerate() {
            for lang in Lang::ALL {
                let page = StorePage {
                    brand: &brand,
                    look: &look,
                    lang,
                    lang_links: LangLink::all(lang),
                    year: 2026,
                    test_registry: false,
                };
                let html = themes
                    .render_page(name, &page, &ctx, None)
                    .unwrap_or_else(|e| panic!("{name} (sample {index}) in {lang:?}: {e:#}"));
                assert!(
                    html.contains(&format!("<html lang=\"{}\">", lang.code())),
                    "{name} (sample {index}) in {lang:?}"
                );
                assert!(html.contains("Acme Hosting"), "{name} (sample {index})");
            }
        }
    }

    /// Renders every sample of `name` in `lang` and joins the pages.
    fn rendered(name: &str, lang: Lang) -> String {
        let brand = brand();
        let look = Look::default();
        let page = StorePage {
            brand: &brand,
            look: &look,
            lang,
            lang_links: LangLink::all(lang),
            year: 2026,
            test_registry: false,
        };
        let themes = Themes::new();
        super::pages()
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, ctx)| themes.render_page(name, &page, &ctx, None).unwrap())
            .collect()
    }

    #[test]
    fn the_variants_reach_the_pages_states() {
        let html = rendered("account/order.html", Lang::En);
        assert!(
            html.contains("R-7"),
            "the case number of an order under review"
        );
        assert!(html.contains("trade register entry"), "the team's question");
        assert!(
            html.contains("id=\"code-error\""),
            "a wrong activation code"
        );
        assert!(html.contains("/account/domains/example.de"));

        let html = rendered("checkout.html", Lang::De);
        assert!(html.contains("Erika Mustermann"), "a signed-in customer");
        assert!(html.contains("K-10042"));
        assert!(html.contains("id=\"accept_terms-error\""));
        assert!(html.contains("name=\"password\""), "a new customer's form");

        let html = rendered("cart.html", Lang::En);
        assert!(html.contains("SPRING10"), "a coupon");
        assert!(html.contains("name=\"contact\""), "the holder choice");
        assert!(html.contains("href=\"/account/contacts\""), "no holder yet");
        assert!(html.contains("This TLD is not offered."), "a refused line");
        assert!(html.contains("cross-title"), "cross-selling");
        assert!(html.contains("flash-info"), "a flash message");

        let html = rendered("account/domain.html", Lang::En);
        assert!(html.contains("class=\"auth-code\""), "a requested AuthCode");
        assert!(
            html.contains("/restore\""),
            "the restore offer in redemption"
        );

        let html = rendered("search.html", Lang::En);
        for status in [
            "available",
            "taken",
            "unknown",
            "preregister",
            "sunrise",
            "not_offered",
            "invalid",
            "checking",
        ] {
            assert!(html.contains(&format!("status-{status}")), "{status}");
        }
        assert!(html.contains("id=\"domain-q-error\""));
    }

    /// Why every page in every language: a footer that breaks only on the
    /// German checkout of a signed-in customer renders on the home page, and
    /// is caught by these samples.
    #[test]
    fn a_footer_broken_only_on_the_german_checkout_is_caught() {
        let themes = Themes::new();
        let custom = themes
            .customize(&[(
                "default/_footer.html".to_owned(),
                "<footer>{% if lang == \"de\" and cart is defined and customer %}{{ cart.no_such.key }}{% endif %}</footer>".to_owned(),
            )])
            .unwrap();
        let brand = brand();
        let look = Look::default();
        let page = StorePage {
            brand: &brand,
            look: &look,
            lang: Lang::En,
            lang_links: LangLink::all(Lang::En),
            year: 2026,
            test_registry: false,
        };
        // The home page renders in both languages, and so does every page in
        // English: only the German checkout of a signed-in customer breaks,
        // and preview (looked at in English) finds it.
        for lang in Lang::ALL {
            let page = StorePage {
                lang,
                lang_links: LangLink::all(lang),
                ..page.clone()
            };
            themes.render_home(&page, Some(&custom)).unwrap();
        }
        let err = themes
            .preview(&custom, "default/_footer.html", &page)
            .unwrap_err();
        assert!(err.message.contains("(language: de)"), "{}", err.message);
        assert!(err.name.ends_with(".html"), "{}", err.name);
    }
}
