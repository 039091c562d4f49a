//! Documents (B2, B5, B10): the invoice / credit note PDF rendered with Typst as
//! PDF/A-3b with the EN 16931 XML attached (Factur-X/ZUGFeRD profile EN 16931, or
//! XRechnung), the statement of account, and delivery by email or print-mail.
//!
//! A document's PDF and XML are rendered once, from its frozen data, and stored on
//! the row (write-once: `WHERE pdf IS NULL`); downloads serve the stored bytes.

use super::{Party, invoice, invoice_line, money};
use crate::app::AppState;
use crate::customers::customer;
use crate::jobs::runner::JobError;
use anyhow::{Context, anyhow};
use chrono::{DateTime, Datelike, Timelike, Utc};
use relabel_tenants::{Tenant, TenantTx};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use typst::foundations::{Bytes, Dict, IntoValue, Smart, Value};
use typst_as_lib::{TypstEngine, TypstTemplateMainFile};
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub const DELIVER: &str = "billing.deliver";

static TEMPLATE: &str = include_str!("templates/invoice.typ");
static SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

type Engine = TypstEngine<TypstTemplateMainFile>;

fn engine() -> &'static Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Arc::new(
            TypstEngine::builder()
                .main_file(("invoice.typ", TEMPLATE))
                .fonts([SANS, SANS_BOLD])
                .build(),
        )
    })
}

/// Labels in the buyer's language.
pub(crate) fn labels(lang: &str) -> serde_json::Value {
    if lang == "de" {
        json!({
            "invoice": "Rechnung", "credit_note": "Gutschrift", "statement": "Kontoauszug",
            "number": "Nummer", "date": "Datum", "customer": "Kundennummer", "due": "Fällig am",
            "buyer_reference": "Ihre Referenz",
            "period": "Leistungszeitraum", "refers": "Zu Rechnung", "pos": "Pos.", "description": "Beschreibung",
            "qty": "Menge", "unit_price": "Einzelpreis", "vat": "USt.", "amount": "Betrag",
            "net": "Summe netto", "vat_of": "USt.", "gross": "Gesamtbetrag", "paid": "Bereits beglichen",
            "payable": "Zu zahlen", "balance": "Saldo", "skonto": "Bei Zahlung bis {date} gewähren wir {pct} % Skonto ({amount}).",
            "pay_by": "Bitte überweisen Sie {amount} bis zum {date} unter Angabe der Rechnungsnummer.",
            "debit_notice": "Wir ziehen {amount} am {date} per SEPA-Lastschrift von Ihrem Konto {iban} ein (Mandatsreferenz {mandate}, Gläubiger-ID {creditor}). Bitte sorgen Sie für ausreichende Deckung; Sie müssen nichts überweisen.",
            "settled": "Der Betrag wurde mit Ihrem Guthaben verrechnet.",
            "credited": "Der Betrag wird Ihrem Kundenkonto gutgeschrieben.",
            "vat_id": "USt-IdNr.", "tax_number": "Steuernummer", "register": "Register", "director": "Geschäftsführung",
            "bank": "Bank", "kind": "Art", "reference": "Beleg",
            "intro_invoice": "Wir berechnen Ihnen die folgenden Leistungen:",
            "intro_credit": "Wir schreiben Ihnen die folgenden Beträge gut:",
        })
    } else {
        json!({
            "invoice": "Invoice", "credit_note": "Credit note", "statement": "Statement of account",
            "number": "Number", "date": "Date", "customer": "Customer no.", "due": "Due",
            "buyer_reference": "Your reference",
            "period": "Service period", "refers": "For invoice", "pos": "Pos.", "description": "Description",
            "qty": "Qty", "unit_price": "Unit price", "vat": "VAT", "amount": "Amount",
            "net": "Total net", "vat_of": "VAT", "gross": "Total", "paid": "Already settled",
            "payable": "Amount due", "balance": "Balance", "skonto": "Paid by {date}, you may deduct {pct} % cash discount ({amount}).",
            "pay_by": "Please transfer {amount} by {date}, quoting the invoice number.",
            "debit_notice": "We will collect {amount} on {date} by SEPA direct debit from your account {iban} (mandate reference {mandate}, creditor ID {creditor}). Please make sure the account is covered; there is nothing to transfer.",
            "settled": "The amount has been settled from your credit balance.",
            "credited": "The amount is credited to your customer account.",
            "vat_id": "VAT ID", "tax_number": "Tax no.", "register": "Register", "director": "Managing director",
            "bank": "Bank", "kind": "Kind", "reference": "Document",
            "intro_invoice": "We invoice the following services:",
            "intro_credit": "We credit the following amounts:",
        })
    }
}

pub(crate) fn day(at: DateTime<Utc>, lang: &str) -> String {
    if lang == "de" {
        at.format("%d.%m.%Y").to_string()
    } else {
        at.format("%Y-%m-%d").to_string()
    }
}

pub(crate) fn amount(minor: i64, currency: &str, lang: &str) -> String {
    if lang == "de" {
        format!("{} {currency}", money::german(minor))
    } else {
        format!("{currency} {}", money::decimal(minor))
    }
}

pub(crate) fn label(t: &serde_json::Value, k: &str) -> String {
    t[k].as_str().unwrap_or(k).to_owned()
}

pub(crate) fn seller_lines(s: &Party, t: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let mut legal = Vec::new();
    if !s.vat_id.is_empty() {
        legal.push(format!("{} {}", label(t, "vat_id"), s.vat_id));
    }
    if !s.tax_number.is_empty() {
        legal.push(format!("{} {}", label(t, "tax_number"), s.tax_number));
    }
    if !s.register.is_empty() {
        legal.push(s.register.clone());
    }
    if !s.director.is_empty() {
        legal.push(format!("{}: {}", label(t, "director"), s.director));
    }
    if !s.email.is_empty() {
        legal.push(s.email.clone());
    }
    let mut bank = Vec::new();
    if !s.bank_name.is_empty() {
        bank.push(s.bank_name.clone());
    }
    if !s.iban.is_empty() {
        bank.push(format!("IBAN {}", s.iban));
    }
    if !s.bic.is_empty() {
        bank.push(format!("BIC {}", s.bic));
    }
    if !s.footer.is_empty() {
        bank.push(s.footer.clone());
    }
    (legal, bank)
}

pub(crate) fn buyer_lines(b: &Party) -> Vec<String> {
    let mut v = vec![b.name.clone()];
    if !b.street.is_empty() {
        v.push(b.street.clone());
    }
    v.push(format!("{} {}", b.postal_code, b.city).trim().to_owned());
    if b.country != "DE" && !b.country.is_empty() {
        v.push(b.country.clone());
    }
    if !b.vat_id.is_empty() {
        v.push(b.vat_id.clone());
    }
    v
}

/// Brand colors and logo of the tenant, for the letterhead.
pub struct Letterhead {
    pub primary: String,
    pub accent: String,
    pub logo: Option<Vec<u8>>,
}

pub async fn letterhead(tx: &TenantTx, tenant: &Tenant) -> Result<Letterhead, DbErr> {
    let logo = match &tenant.brand.logo_asset_id {
        Some(id) => crate::branding::load_asset(tx, id)
            .await?
            .map(|a| a.bytes)
            .filter(|b| crate::branding::sniff_image(b).is_some()),
        None => None,
    };
    let color = |c: &str, fallback: &str| {
        crate::validation::parse_color(c).unwrap_or_else(|| fallback.to_owned())
    };
    Ok(Letterhead {
        primary: color(&tenant.brand.primary_color, "#1f3a5f"),
        accent: color(&tenant.brand.accent_color, "#3b82f6"),
        logo,
    })
}

/// The view model of an invoice or credit note for the template.
/// The pre-notification sentence of a direct-debit invoice.
fn debit_text(t: &serde_json::Value, d: &super::DebitNotice, amount: &str, lang: &str) -> String {
    let date = chrono::NaiveDate::parse_from_str(&d.collect_on, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or_else(|| d.collect_on.clone(), |d| day(d.and_utc(), lang));
    label(t, "debit_notice")
        .replace("{amount}", amount)
        .replace("{date}", &date)
        .replace("{iban}", &d.iban_masked)
        .replace("{mandate}", &d.mandate_reference)
        .replace("{creditor}", &d.creditor_id)
}

fn invoice_view(
    inv: &invoice::Model,
    lines: &[invoice_line::Model],
    head: &Letterhead,
    xml_name: &str,
    intro: Option<&str>,
) -> serde_json::Value {
    let seller: Party = serde_json::from_str(&inv.seller).unwrap_or_default();
    let buyer: Party = serde_json::from_str(&inv.buyer).unwrap_or_default();
    let lang = if buyer.language == "de" { "de" } else { "en" };
    let t = labels(lang);
    let cur = &inv.currency;
    let credit = inv.kind == "credit_note";
    let title = format!(
        "{} {}",
        label(&t, if credit { "credit_note" } else { "invoice" }),
        inv.number
    );
    let mut facts = vec![
        (label(&t, "number"), inv.number.clone()),
        (label(&t, "date"), day(inv.issued_at, lang)),
        (label(&t, "customer"), buyer.number.clone()),
    ];
    // The buyer's reference (Leitweg-ID), as the e-invoice carries it.
    if !buyer.reference.is_empty() {
        facts.push((label(&t, "buyer_reference"), buyer.reference.clone()));
    }
    if let (Some(s), Some(e)) = (inv.period_start, inv.period_end) {
        facts.push((
            label(&t, "period"),
            format!(
                "{} – {}",
                day(s, lang),
                day(e - chrono::Duration::days(1), lang)
            ),
        ));
    }
    if let Some(r) = &inv.refers_to_number {
        facts.push((label(&t, "refers"), r.clone()));
    }
    if !credit {
        facts.push((label(&t, "due"), day(inv.due_at, lang)));
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let mut desc = l.description.clone();
            if let (Some(s), Some(e)) = (l.period_start, l.period_end) {
                desc.push_str(&format!(
                    "\n{} – {}",
                    day(s, lang),
                    day(e - chrono::Duration::days(1), lang)
                ));
            }
            vec![
                l.position.to_string(),
                desc,
                money::quantity(l.quantity_milli),
                amount(l.unit_net_minor, cur, lang),
                format!("{} %", money::percent(l.vat_rate_bp)),
                amount(l.net_minor, cur, lang),
            ]
        })
        .collect();
    let totals = money::totals(
        lines
            .iter()
            .map(|l| (l.net_minor, l.vat_category.as_str(), l.vat_rate_bp)),
    );
    let mut total_rows = vec![(label(&t, "net"), amount(totals.net_minor, cur, lang))];
    for g in &totals.groups {
        total_rows.push((
            format!(
                "{} {} % ({} {})",
                label(&t, "vat_of"),
                money::percent(g.rate_bp),
                g.category,
                amount(g.net_minor, cur, lang)
            ),
            amount(g.vat_minor, cur, lang),
        ));
    }
    let mut grand = (label(&t, "gross"), amount(inv.gross_minor, cur, lang));
    let mut notes = Vec::new();
    if let Some(n) = &inv.note {
        notes.push(n.clone());
    }
    if let Some(n) = super::tax_note(&inv.tax_treatment, lang) {
        notes.push(n.to_owned());
    }
    // Why no VAT is charged on exempt or outside-the-scope lines (§ 19 UStG…).
    if !seller.exemption_reason.is_empty() {
        notes.push(seller.exemption_reason.clone());
    }
    if credit {
        notes.push(label(&t, "credited"));
    } else {
        let due = inv.gross_minor - inv.settled_minor;
        if inv.settled_minor > 0 {
            total_rows.push((label(&t, "gross"), amount(inv.gross_minor, cur, lang)));
            total_rows.push((label(&t, "paid"), amount(-inv.settled_minor, cur, lang)));
            grand = (label(&t, "payable"), amount(due, cur, lang));
        }
        if due <= 0 {
            notes.push(label(&t, "settled"));
        } else if let Some(d) = &buyer.debit {
            // SEPA pre-notification: no transfer request.
            notes.push(debit_text(&t, d, &amount(due, cur, lang), lang));
        } else {
            notes.push(
                label(&t, "pay_by")
                    .replace("{amount}", &amount(due, cur, lang))
                    .replace("{date}", &day(inv.due_at, lang)),
            );
            if let Some(until) = inv.skonto_until.filter(|_| inv.skonto_bp > 0) {
                let off = money::div_round(
                    i128::from(inv.gross_minor) * i128::from(inv.skonto_bp),
                    10_000,
                );
                notes.push(
                    label(&t, "skonto")
                        .replace("{date}", &day(until, lang))
                        .replace("{pct}", &money::percent(inv.skonto_bp))
                        .replace("{amount}", &amount(off, cur, lang)),
                );
            }
        }
    }
    let (legal, bank) = seller_lines(&seller, &t);
    json!({
        "lang": lang, "title": title, "labels": t,
        "primary": head.primary, "accent": head.accent,
        "seller": seller, "seller_legal": legal, "seller_bank": bank,
        "buyer_lines": buyer_lines(&buyer),
        "facts": facts.into_iter().map(|(a, b)| vec![a, b]).collect::<Vec<_>>(),
        "intro": intro.map_or_else(|| label(&t, if credit { "intro_credit" } else { "intro_invoice" }), str::to_owned),
        "columns": [
            [label(&t, "pos"), "auto", "l"], [label(&t, "description"), "1fr", "l"],
            [label(&t, "qty"), "auto", "r"], [label(&t, "unit_price"), "auto", "r"],
            [label(&t, "vat"), "auto", "r"], [label(&t, "amount"), "auto", "r"],
        ],
        "rows": rows,
        "totals": total_rows.into_iter().map(|(a, b)| vec![a, b]).collect::<Vec<_>>(),
        "grand": [grand.0, grand.1],
        "notes": notes,
        "xml_name": xml_name,
    })
}

/// Compiles the template to PDF/A-3b; with `xml`, attaches it and writes the
/// Factur-X XMP metadata.
pub fn render_pdf(
    view: serde_json::Value,
    logo: Option<Vec<u8>>,
    xml: Option<(&str, &str, Vec<u8>)>,
    ident: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let mut inputs: Dict = serde_json::from_value(json!({ "doc": view }))?;
    inputs.insert(
        "logo".into(),
        logo.map(|b| Bytes::new(b).into_value())
            .unwrap_or(Value::None),
    );
    let attach = xml.as_ref().map(|(_, level, _)| *level);
    let file = xml.as_ref().map(|(name, _, _)| (*name).to_owned());
    inputs.insert(
        "xml".into(),
        xml.map(|(_, _, b)| Bytes::new(b).into_value())
            .unwrap_or(Value::None),
    );
    let warned = engine().compile_with_input(inputs);
    let doc: typst_layout::PagedDocument = warned
        .output
        .map_err(|e| anyhow!("typst compile failed: {e:?}"))?;
    let datetime = typst::foundations::Datetime::from_ymd_hms(
        at.year(),
        u8::try_from(at.month()).unwrap_or(1),
        u8::try_from(at.day()).unwrap_or(1),
        u8::try_from(at.hour()).unwrap_or(0),
        u8::try_from(at.minute()).unwrap_or(0),
        u8::try_from(at.second()).unwrap_or(0),
    )
    .context("document date")?;
    let options = PdfOptions {
        ident: Smart::Custom(ident.to_owned()),
        timestamp: Some(Timestamp::new_utc(datetime)),
        standards: PdfStandards::new(&[PdfStandard::A_3b]).map_err(|e| anyhow!("{e:?}"))?,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&doc, &options).map_err(|e| anyhow!("pdf export: {e:?}"))?;
    match (attach, file) {
        (Some(level), Some(name)) => add_facturx_xmp(&pdf, level, &name),
        _ => Ok(pdf),
    }
}

const FX_NS: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

fn fx_schema() -> String {
    let prop = |name: &str, desc: &str| {
        format!(
            r#"<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>{desc}</pdfaProperty:description></rdf:li>"#
        )
    };
    format!(
        r#"<rdf:li rdf:parseType="Resource" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>{FX_NS}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>{}{}{}{}</rdf:Seq></pdfaSchema:property></rdf:li>"#,
        prop("DocumentFileName", "The name of the embedded XML document"),
        prop(
            "DocumentType",
            "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"
        ),
        prop(
            "Version",
            "The actual version of the standard applying to the embedded XML document"
        ),
        prop(
            "ConformanceLevel",
            "The conformance level of the embedded XML document"
        ),
    )
}

/// Adds the Factur-X extension schema and properties to an XMP packet.
pub fn insert_facturx(xmp: &str, level: &str, file_name: &str) -> anyhow::Result<String> {
    let mut out = xmp.to_owned();
    const BAG_END: &str = "</rdf:Bag></pdfaExtension:schemas>";
    if let Some(pos) = out.find(BAG_END) {
        out.insert_str(pos, &fx_schema());
    } else {
        let pos = out.rfind("</rdf:RDF>").context("no </rdf:RDF> in XMP")?;
        out.insert_str(
            pos,
            &format!(
                r#"<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"><pdfaExtension:schemas><rdf:Bag>{}</rdf:Bag></pdfaExtension:schemas></rdf:Description>"#,
                fx_schema()
            ),
        );
    }
    let pos = out.rfind("</rdf:RDF>").context("no </rdf:RDF> in XMP")?;
    out.insert_str(
        pos,
        &format!(
            r#"<rdf:Description rdf:about="" xmlns:fx="{FX_NS}"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>{file_name}</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>{level}</fx:ConformanceLevel></rdf:Description>"#
        ),
    );
    Ok(out)
}

fn add_facturx_xmp(pdf: &[u8], level: &str, file_name: &str) -> anyhow::Result<Vec<u8>> {
    let mut doc = lopdf::Document::load_mem(pdf)?;
    let meta_id = doc.catalog()?.get(b"Metadata")?.as_reference()?;
    let stream = doc.get_object_mut(meta_id)?.as_stream_mut()?;
    let xmp =
        String::from_utf8(stream.get_plain_content()?).map_err(|_| anyhow!("XMP not UTF-8"))?;
    let xmp = insert_facturx(&xmp, level, file_name)?;
    stream.set_plain_content(xmp.into_bytes());
    let mut out = Vec::with_capacity(pdf.len() + 4096);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Renders a document's PDF (and XML) from its stored data. `intro` is the
/// sentence above the lines (the reseller's `documents/invoice.txt`); `None`
/// prints the built-in one.
pub fn render_document(
    inv: &invoice::Model,
    lines: &[invoice_line::Model],
    head: &Letterhead,
    intro: Option<&str>,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let profile = inv.einvoice.as_str();
    let xml = (profile != "none").then(|| super::einvoice::cii(inv, lines, profile));
    let name = super::einvoice::file_name(profile);
    let level = if profile == "xrechnung" {
        "XRECHNUNG"
    } else {
        "EN 16931"
    };
    let view = invoice_view(inv, lines, head, name, intro);
    let pdf = render_pdf(
        view,
        head.logo.clone(),
        xml.as_ref().map(|x| (name, level, x.clone().into_bytes())),
        &format!("{}-{}", inv.kind, inv.number),
        inv.issued_at,
    )?;
    Ok((pdf, xml))
}

/// The stored PDF and XML of a document, rendering and storing them first if
/// this is the first time (write-once).
pub async fn files(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
) -> anyhow::Result<Option<(invoice::Model, Vec<u8>, Option<String>)>> {
    let tx = state.tenancy.begin(tenant).await?;
    let Some(inv) = invoice::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    if let Some(pdf) = inv.pdf.clone() {
        let xml = inv.xml.clone();
        return Ok(Some((inv, pdf, xml)));
    }
    let lines = super::lines(&tx, id).await?;
    let head = letterhead(&tx, tenant).await?;
    tx.commit().await?;
    let buyer: Party = serde_json::from_str(&inv.buyer).unwrap_or_default();
    let look = state.look(tenant).await?;
    let (_, intro) = state.themes.render_document_text(
        "invoice",
        lang_of(&buyer.language),
        &json!({
            "document": inv.kind, "number": inv.number, "brand_name": tenant.name,
            "customer_name": buyer.name, "customer_number": buyer.number,
        }),
        look.custom.as_ref(),
    )?;
    let (inv2, lines2) = (inv.clone(), lines.clone());
    let (pdf, xml) =
        tokio::task::spawn_blocking(move || render_document(&inv2, &lines2, &head, Some(&intro)))
            .await??;
    let tx = state.tenancy.begin(tenant).await?;
    invoice::Entity::update_many()
        .col_expr(invoice::Column::Pdf, Expr::val(pdf.clone()))
        .col_expr(invoice::Column::Xml, Expr::val(xml.clone()))
        .filter(invoice::Column::Id.eq(id))
        .filter(invoice::Column::Pdf.is_null())
        .exec(tx.conn())
        .await?;
    // Whoever stored first wins; serve what is stored.
    let stored = invoice::Entity::find_by_id(id.to_owned())
        .one(tx.conn())
        .await?
        .context("document vanished")?;
    tx.commit().await?;
    let pdf = stored.pdf.clone().unwrap_or(pdf);
    let xml = stored.xml.clone().or(xml);
    Ok(Some((stored, pdf, xml)))
}

/// The customer's language as the templates know it.
pub(crate) fn lang_of(code: &str) -> relabel_themes::Lang {
    relabel_themes::Lang::parse(code).unwrap_or(relabel_themes::Lang::En)
}

/// The mail carrying a document (`emails/invoice.txt`, the reseller's when it
/// has one).
async fn mail_text(
    state: &AppState,
    tenant: &Tenant,
    inv: &invoice::Model,
    c: &customer::Model,
) -> anyhow::Result<(String, String)> {
    let lang = if c.language == "de" { "de" } else { "en" };
    let look = state.look(tenant).await?;
    let buyer: super::Party = serde_json::from_str(&inv.buyer).unwrap_or_default();
    let debit = buyer.debit.as_ref().map(|d| {
        let total = amount(inv.gross_minor, &inv.currency, lang);
        debit_text(&labels(lang), d, &total, lang)
    });
    Ok(state.themes.render_email(
        "invoice",
        lang_of(lang),
        &json!({
            "brand_name": tenant.name, "customer_name": crate::customers::display_name(c),
            "document": inv.kind, "number": inv.number,
            "total": amount(inv.gross_minor, &inv.currency, lang),
            "due_date": day(inv.due_at, lang),
            "debit_notice": debit,
        }),
        look.custom.as_ref(),
    )?)
}

/// Delivers a document once: renders and stores it, then mails it with the PDF
/// attached (B2) or hands it to the print-mail service (B5).
pub async fn deliver(state: &AppState, tenant: &Tenant, id: &str) -> Result<(), JobError> {
    let retry = |e: anyhow::Error| JobError::Retry(e.to_string());
    let Some((inv, pdf, _)) = files(state, tenant, id).await.map_err(retry)? else {
        return Err(JobError::Fatal(format!("document {id} not found")));
    };
    if inv.delivered_at.is_some() {
        return Ok(());
    }
    let tx = state
        .tenancy
        .begin(tenant)
        .await
        .map_err(|e| retry(e.into()))?;
    // A write first (SQLite takes its lock before reading): marked delivered
    // with the mail queued in the same transaction, or not at all.
    mark_delivered(&tx, id).await.map_err(|e| retry(e.into()))?;
    let c = customer::Entity::find_by_id(inv.customer_id.clone())
        .one(tx.conn())
        .await
        .map_err(|e| retry(e.into()))?
        .ok_or_else(|| JobError::Fatal("customer not found".into()))?;
    let bs = super::settings(&tx).await.map_err(|e| retry(e.into()))?;
    if inv.delivery == "postal" {
        let Some(url) = bs.print_mail_url.clone() else {
            return Err(JobError::Fatal(
                "postal delivery chosen but no print-mail service is configured".into(),
            ));
        };
        // Delivered only once the service took it: undo the mark for now.
        tx.rollback().await.map_err(|e| retry(e.into()))?;
        let buyer: Party = serde_json::from_str(&inv.buyer).unwrap_or_default();
        let printer = super::printmail::HttpPrintMail::new(&url, &state.outbound);
        use super::printmail::PrintMail;
        printer
            .send(&super::printmail::Letter {
                reference: format!("{}:{}", tenant.id, inv.number),
                recipient: buyer_lines(&buyer),
                country: buyer.country.clone(),
                pdf: pdf.clone(),
            })
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let tx = state
            .tenancy
            .begin(tenant)
            .await
            .map_err(|e| retry(e.into()))?;
        mark_delivered(&tx, id).await.map_err(|e| retry(e.into()))?;
        tx.commit().await.map_err(|e| retry(e.into()))?;
        return Ok(());
    }
    let (subject, body) = mail_text(state, tenant, &inv, &c).await.map_err(retry)?;
    let from = crate::mail::sender(&tx, tenant)
        .await
        .map_err(|e| retry(e.into()))?;
    state
        .mailer
        .queue_with_document(
            &tx,
            crate::mail::Mail {
                to: c.email.clone(),
                from,
                subject,
                body,
            },
            id,
        )
        .await
        .map_err(|e| retry(e.into()))?;
    tx.commit().await.map_err(|e| retry(e.into()))?;
    state.mailer.kick(&state.tenancy, tenant);
    Ok(())
}

async fn mark_delivered(tx: &TenantTx, id: &str) -> Result<(), DbErr> {
    invoice::Entity::update_many()
        .col_expr(invoice::Column::DeliveredAt, Expr::val(Some(Utc::now())))
        .filter(invoice::Column::Id.eq(id))
        .filter(invoice::Column::DeliveredAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(())
}

/// The statement of account of a customer as PDF: ledger entries with running
/// balance and the open items.
pub async fn statement(
    state: &AppState,
    tenant: &Tenant,
    customer_id: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let tx = state.tenancy.begin(tenant).await?;
    let Some(c) = customer::Entity::find_by_id(customer_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    let mut entries = super::ledger(&tx, customer_id).await?;
    entries.reverse();
    let open = super::open_items(&tx, customer_id).await?;
    let bs = super::settings(&tx).await?;
    let head = letterhead(&tx, tenant).await?;
    tx.commit().await?;
    let lang = if c.language == "de" { "de" } else { "en" };
    let t = labels(lang);
    let look = state.look(tenant).await?;
    let (_, intro) = state.themes.render_document_text(
        "statement",
        lang_of(lang),
        &json!({
            "brand_name": tenant.name, "customer_name": crate::customers::display_name(&c),
            "customer_number": c.number,
            "balance": amount(entries.iter().map(|e| e.amount_minor).sum(), &c.currency, lang),
        }),
        look.custom.as_ref(),
    )?;
    let seller = super::seller_party(&bs, &tenant.name);
    let buyer = super::buyer_party(&c);
    let mut running = 0;
    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        running += e.amount_minor;
        rows.push(vec![
            (i + 1).to_string(),
            format!(
                "{}{}",
                e.reference.clone().unwrap_or_default(),
                e.note
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            ),
            e.kind.clone(),
            day(e.created_at, lang),
            amount(e.amount_minor, &e.currency, lang),
            amount(running, &e.currency, lang),
        ]);
    }
    let now = Utc::now();
    let mut notes: Vec<String> = open
        .iter()
        .map(|o| {
            format!(
                "{} {} · {} {} · {}",
                label(&t, "invoice"),
                o.number,
                label(&t, "due"),
                day(o.due_at, lang),
                amount(o.open_minor(), &o.currency, lang)
            )
        })
        .collect();
    if notes.is_empty() {
        notes.push(String::new());
    }
    let (legal, bank) = seller_lines(&seller, &t);
    let view = json!({
        "lang": lang, "title": format!("{} {}", label(&t, "statement"), day(now, lang)), "labels": t,
        "primary": head.primary, "accent": head.accent,
        "seller": seller, "seller_legal": legal, "seller_bank": bank,
        "buyer_lines": buyer_lines(&buyer),
        "facts": [[label(&t, "customer"), c.number], [label(&t, "date"), day(now, lang)]],
        "intro": intro,
        "columns": [
            [label(&t, "pos"), "auto", "l"], [label(&t, "reference"), "1fr", "l"],
            [label(&t, "kind"), "auto", "l"], [label(&t, "date"), "auto", "r"],
            [label(&t, "amount"), "auto", "r"], [label(&t, "balance"), "auto", "r"],
        ],
        "rows": rows,
        "totals": [],
        "grand": [label(&t, "balance"), amount(running, &c.currency, lang)],
        "notes": notes,
        "xml_name": "",
    });
    let logo = head.logo;
    let ident = format!("statement-{}-{}", c.number, now.timestamp());
    let pdf =
        tokio::task::spawn_blocking(move || render_pdf(view, logo, None, &ident, now)).await??;
    Ok(Some(pdf))
}

/// The warning that a domain will not be (or was not) renewed for lack of credit,
/// to the customer and to the reseller's billing address (B12).
pub async fn renewal_mail(
    state: &AppState,
    tenant: &Tenant,
    payload: &serde_json::Value,
) -> anyhow::Result<()> {
    let tx = state.tenancy.begin(tenant).await?;
    let domain_id = payload["domain_id"].as_str().unwrap_or_default();
    let Some(d) = crate::provisioning::domain::Entity::find_by_id(domain_id.to_owned())
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    let Some(c) = customer::Entity::find_by_id(d.customer_id.clone())
        .one(tx.conn())
        .await?
    else {
        return Ok(());
    };
    let lang = if c.language == "de" { "de" } else { "en" };
    let expiry = d.expires_at.map(|e| day(e, lang)).unwrap_or_default();
    let gross = payload["gross_minor"]
        .as_i64()
        .map(|g| amount(g, &c.currency, lang));
    let (subject, body) = if lang == "de" {
        (
            format!("Verlängerung von {} gefährdet", d.name),
            format!(
                "Guten Tag,\n\nIhre Domain {} läuft am {expiry} ab. Ihr Guthaben und Kreditrahmen reichen für die Verlängerung{} nicht aus; ohne Deckung wird die Domain nicht verlängert und nach Ablauf gelöscht. Eine spätere Wiederherstellung ist deutlich teurer.\n\nBitte laden Sie Ihr Guthaben auf.\n\n{}\n",
                d.name,
                gross.map(|g| format!(" ({g})")).unwrap_or_default(),
                tenant.name
            ),
        )
    } else {
        (
            format!("Renewal of {} at risk", d.name),
            format!(
                "Hello,\n\nyour domain {} expires on {expiry}. Your balance and credit do not cover the renewal{}; without cover the domain is not renewed and will be deleted after expiry. Restoring it later costs far more.\n\nPlease top up your balance.\n\n{}\n",
                d.name,
                gross.map(|g| format!(" ({g})")).unwrap_or_default(),
                tenant.name
            ),
        )
    };
    let from = crate::mail::sender(&tx, tenant).await?;
    let bs = super::settings(&tx).await?;
    let mut to = vec![c.email.clone()];
    if !bs.email.is_empty() {
        to.push(bs.email.clone());
    }
    for addr in to {
        state
            .mailer
            .queue(
                &tx,
                crate::mail::Mail {
                    to: addr,
                    from: from.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                },
            )
            .await?;
    }
    tx.commit().await?;
    state.mailer.kick(&state.tenancy, tenant);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_factur_x_schema_goes_into_the_existing_bag() {
        let xmp = r#"<x:xmpmeta><rdf:RDF><rdf:Description rdf:about=""><pdfaExtension:schemas><rdf:Bag><rdf:li>a</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let out = super::insert_facturx(xmp, "EN 16931", "factur-x.xml").unwrap();
        assert_eq!(out.matches("pdfaExtension:schemas>").count(), 2);
        assert!(out.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
        assert!(out.contains("<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>"));
        assert!(
            out.find("Factur-X PDFA Extension Schema").unwrap() < out.find("</rdf:Bag>").unwrap()
        );
    }
}
