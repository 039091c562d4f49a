//! EN 16931 e-invoices as UN/CEFACT Cross Industry Invoice (CII D16B) XML: the
//! Factur-X/ZUGFeRD profile EN 16931 (embedded in the PDF/A-3) and XRechnung
//! (CII syntax, its own guideline id). Validated in the tests against the official
//! Factur-X EN 16931 schemas in `schema/cii/` with `xmllint`.

use super::{Party, invoice, invoice_line, money};
use chrono::{DateTime, Utc};
use std::fmt::Write;

pub const FACTURX_GUIDELINE: &str = "urn:cen.eu:en16931:2017";
pub const XRECHNUNG_GUIDELINE: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";

/// The file name of the XML inside the PDF and as a download.
pub fn file_name(profile: &str) -> &'static str {
    if profile == "xrechnung" {
        "xrechnung.xml"
    } else {
        "factur-x.xml"
    }
}

/// The download name of a document's XML: its number and the file name.
pub fn download_name(doc: &super::invoice::Model) -> String {
    format!("{}-{}", doc.number, file_name(&doc.einvoice))
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

fn date(at: DateTime<Utc>) -> String {
    format!(
        "<udt:DateTimeString format=\"102\">{}</udt:DateTimeString>",
        at.format("%Y%m%d")
    )
}

fn elem(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "<ram:{name}>{}</ram:{name}>", esc(value));
}

fn party(out: &mut String, tag: &str, p: &Party, seller: bool) {
    let _ = write!(out, "<ram:{tag}>");
    if !p.number.is_empty() {
        elem(out, "ID", &p.number);
    }
    elem(out, "Name", &p.name);
    if seller && !p.register.is_empty() {
        out.push_str("<ram:SpecifiedLegalOrganization>");
        elem(out, "TradingBusinessName", &p.name);
        out.push_str("</ram:SpecifiedLegalOrganization>");
    }
    if seller && (!p.email.is_empty() || !p.phone.is_empty()) {
        out.push_str("<ram:DefinedTradeContact>");
        elem(
            out,
            "PersonName",
            if p.director.is_empty() {
                &p.name
            } else {
                &p.director
            },
        );
        if !p.phone.is_empty() {
            out.push_str("<ram:TelephoneUniversalCommunication>");
            elem(out, "CompleteNumber", &p.phone);
            out.push_str("</ram:TelephoneUniversalCommunication>");
        }
        if !p.email.is_empty() {
            out.push_str("<ram:EmailURIUniversalCommunication>");
            elem(out, "URIID", &p.email);
            out.push_str("</ram:EmailURIUniversalCommunication>");
        }
        out.push_str("</ram:DefinedTradeContact>");
    }
    out.push_str("<ram:PostalTradeAddress>");
    if !p.postal_code.is_empty() {
        elem(out, "PostcodeCode", &p.postal_code);
    }
    if !p.street.is_empty() {
        elem(out, "LineOne", &p.street);
    }
    if !p.city.is_empty() {
        elem(out, "CityName", &p.city);
    }
    elem(
        out,
        "CountryID",
        if p.country.is_empty() {
            "DE"
        } else {
            &p.country
        },
    );
    out.push_str("</ram:PostalTradeAddress>");
    if !p.email.is_empty() {
        let _ = write!(
            out,
            "<ram:URIUniversalCommunication><ram:URIID schemeID=\"EM\">{}</ram:URIID></ram:URIUniversalCommunication>",
            esc(&p.email)
        );
    }
    if !p.vat_id.is_empty() {
        let _ = write!(
            out,
            "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">{}</ram:ID></ram:SpecifiedTaxRegistration>",
            esc(&p.vat_id)
        );
    }
    if seller && !p.tax_number.is_empty() {
        let _ = write!(
            out,
            "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"FC\">{}</ram:ID></ram:SpecifiedTaxRegistration>",
            esc(&p.tax_number)
        );
    }
    let _ = write!(out, "</ram:{tag}>");
}

/// Why a VAT group charges no VAT (BT-120) and its code (BT-121): reverse
/// charge and export by their codes, exempt lines by the seller's reason
/// (e.g. § 19 UStG), lines outside the scope of VAT as "not subject to VAT".
fn exemption(category: &str, seller: &Party) -> Option<(String, Option<&'static str>)> {
    let own = || Some(seller.exemption_reason.clone()).filter(|r| !r.is_empty());
    match category {
        "AE" => Some(("Reverse charge".into(), Some("VATEX-EU-AE"))),
        "G" => Some(("Export outside the EU".into(), Some("VATEX-EU-G"))),
        "E" => Some((own().unwrap_or_else(|| "Exempt from VAT".into()), None)),
        "O" => Some((
            own().unwrap_or_else(|| "Not subject to VAT".into()),
            Some("VATEX-EU-O"),
        )),
        _ => None,
    }
}

fn period(out: &mut String, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) {
    if let (Some(s), Some(e)) = (start, end) {
        let _ = write!(
            out,
            "<ram:BillingSpecifiedPeriod><ram:StartDateTime>{}</ram:StartDateTime><ram:EndDateTime>{}</ram:EndDateTime></ram:BillingSpecifiedPeriod>",
            date(s),
            date(e - chrono::Duration::days(1)).max(date(s))
        );
    }
}

/// The CII XML of an issued document. `profile`: `zugferd` (Factur-X EN 16931)
/// or `xrechnung`.
pub fn cii(inv: &invoice::Model, lines: &[invoice_line::Model], profile: &str) -> String {
    let mut seller: Party = serde_json::from_str(&inv.seller).unwrap_or_default();
    let mut buyer: Party = serde_json::from_str(&inv.buyer).unwrap_or_default();
    // A document outside the scope of VAT names no VAT identifiers (BR-O-02..04).
    if lines.iter().any(|l| l.vat_category == "O") {
        seller.vat_id.clear();
        buyer.vat_id.clear();
    }
    let credit = inv.kind == "credit_note";
    let cur = esc(&inv.currency);
    let mut x = String::with_capacity(4096 + lines.len() * 800);
    x.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">"#);
    x.push_str("<rsm:ExchangedDocumentContext><ram:BusinessProcessSpecifiedDocumentContextParameter><ram:ID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</ram:ID></ram:BusinessProcessSpecifiedDocumentContextParameter><ram:GuidelineSpecifiedDocumentContextParameter>");
    elem(
        &mut x,
        "ID",
        if profile == "xrechnung" {
            XRECHNUNG_GUIDELINE
        } else {
            FACTURX_GUIDELINE
        },
    );
    x.push_str("</ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>");
    x.push_str("<rsm:ExchangedDocument>");
    elem(&mut x, "ID", &inv.number);
    elem(&mut x, "TypeCode", if credit { "381" } else { "380" });
    let _ = write!(
        x,
        "<ram:IssueDateTime>{}</ram:IssueDateTime>",
        date(inv.issued_at)
    );
    let mut notes: Vec<String> = Vec::new();
    if let Some(n) = &inv.note {
        notes.push(n.clone());
    }
    if let Some(n) = super::tax_note(&inv.tax_treatment, &buyer.language) {
        notes.push(n.to_owned());
    }
    let legal = [&seller.register, &seller.director]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if !legal.is_empty() {
        notes.push(legal);
    }
    for n in notes {
        x.push_str("<ram:IncludedNote>");
        elem(&mut x, "Content", &n);
        x.push_str("</ram:IncludedNote>");
    }
    x.push_str("</rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>");
    for l in lines {
        x.push_str("<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument>");
        elem(&mut x, "LineID", &l.position.to_string());
        x.push_str("</ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct>");
        if let Some(p) = &l.product_id {
            elem(&mut x, "SellerAssignedID", p);
        }
        elem(&mut x, "Name", &l.description);
        x.push_str("</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>");
        elem(&mut x, "ChargeAmount", &money::decimal(l.unit_net_minor));
        x.push_str("</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery>");
        let _ = write!(
            x,
            "<ram:BilledQuantity unitCode=\"{}\">{}</ram:BilledQuantity>",
            esc(&l.unit),
            money::quantity(l.quantity_milli)
        );
        x.push_str("</ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax>");
        elem(&mut x, "TypeCode", "VAT");
        elem(&mut x, "CategoryCode", &l.vat_category);
        if l.vat_category != "O" {
            elem(
                &mut x,
                "RateApplicablePercent",
                &money::percent(l.vat_rate_bp),
            );
        }
        x.push_str("</ram:ApplicableTradeTax>");
        period(&mut x, l.period_start, l.period_end);
        x.push_str("<ram:SpecifiedTradeSettlementLineMonetarySummation>");
        elem(&mut x, "LineTotalAmount", &money::decimal(l.net_minor));
        x.push_str("</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>");
    }
    x.push_str("<ram:ApplicableHeaderTradeAgreement>");
    let reference = if buyer.reference.is_empty() {
        buyer.number.clone()
    } else {
        buyer.reference.clone()
    };
    if !reference.is_empty() {
        elem(&mut x, "BuyerReference", &reference);
    }
    party(&mut x, "SellerTradeParty", &seller, true);
    party(&mut x, "BuyerTradeParty", &buyer, false);
    x.push_str("</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery>");
    let delivered = inv.period_start.unwrap_or(inv.issued_at);
    let _ = write!(
        x,
        "<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>{}</ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>",
        date(delivered)
    );
    x.push_str("</ram:ApplicableHeaderTradeDelivery><ram:ApplicableHeaderTradeSettlement>");
    // How the money moves (BG-16): a credit note is credited to the customer's
    // account (97, clearing between partners: no account to pay to); a
    // direct-debit invoice is collected (59, with the creditor id BT-90, the
    // debtor's account BT-91 as pre-notified, masked, and the mandate BT-89);
    // any other invoice asks for a transfer to the seller's IBAN (58).
    let debit = buyer.debit.as_ref().filter(|_| !credit);
    if let Some(d) = debit {
        elem(&mut x, "CreditorReferenceID", &d.creditor_id);
    }
    elem(&mut x, "PaymentReference", &inv.number);
    elem(&mut x, "InvoiceCurrencyCode", &inv.currency);
    if credit {
        x.push_str("<ram:SpecifiedTradeSettlementPaymentMeans>");
        elem(&mut x, "TypeCode", "97");
        x.push_str("</ram:SpecifiedTradeSettlementPaymentMeans>");
    } else if let Some(d) = debit {
        x.push_str("<ram:SpecifiedTradeSettlementPaymentMeans>");
        elem(&mut x, "TypeCode", "59");
        x.push_str("<ram:PayerPartyDebtorFinancialAccount>");
        elem(&mut x, "IBANID", &d.iban_masked);
        x.push_str(
            "</ram:PayerPartyDebtorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>",
        );
    } else if !seller.iban.is_empty() {
        x.push_str("<ram:SpecifiedTradeSettlementPaymentMeans>");
        elem(&mut x, "TypeCode", "58");
        x.push_str("<ram:PayeePartyCreditorFinancialAccount>");
        elem(&mut x, "IBANID", &seller.iban.replace(' ', ""));
        x.push_str(
            "</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>",
        );
    }
    let totals = money::totals(
        lines
            .iter()
            .map(|l| (l.net_minor, l.vat_category.as_str(), l.vat_rate_bp)),
    );
    for g in &totals.groups {
        x.push_str("<ram:ApplicableTradeTax>");
        elem(&mut x, "CalculatedAmount", &money::decimal(g.vat_minor));
        elem(&mut x, "TypeCode", "VAT");
        let why = exemption(&g.category, &seller);
        if let Some((reason, _)) = &why {
            elem(&mut x, "ExemptionReason", reason);
        }
        elem(&mut x, "BasisAmount", &money::decimal(g.net_minor));
        elem(&mut x, "CategoryCode", &g.category);
        if let Some((_, Some(code))) = &why {
            elem(&mut x, "ExemptionReasonCode", code);
        }
        // Outside the scope of VAT there is no rate (BR-O-09).
        if g.category != "O" {
            elem(&mut x, "RateApplicablePercent", &money::percent(g.rate_bp));
        }
        x.push_str("</ram:ApplicableTradeTax>");
    }
    period(&mut x, inv.period_start, inv.period_end);
    x.push_str("<ram:SpecifiedTradePaymentTerms>");
    let mut terms = if credit {
        "Credited to your customer account.".to_owned()
    } else if let Some(d) = debit {
        format!(
            "Collected by SEPA direct debit on {} (mandate {}).",
            d.collect_on, d.mandate_reference
        )
    } else {
        format!("Payable by {}", inv.due_at.format("%Y-%m-%d"))
    };
    if let Some(until) = inv.skonto_until.filter(|_| inv.skonto_bp > 0) {
        // XRechnung's machine-readable Skonto line (#SKONTO#TAGE=..#PROZENT=..#).
        let days = (until - inv.issued_at).num_days();
        let _ = write!(
            terms,
            "\n#SKONTO#TAGE={days}#PROZENT={}#\n",
            money::decimal(i64::from(inv.skonto_bp))
        );
    }
    elem(&mut x, "Description", &terms);
    if !credit {
        let _ = write!(
            x,
            "<ram:DueDateDateTime>{}</ram:DueDateDateTime>",
            date(inv.due_at)
        );
    }
    if let Some(d) = debit {
        elem(&mut x, "DirectDebitMandateID", &d.mandate_reference);
    }
    x.push_str(
        "</ram:SpecifiedTradePaymentTerms><ram:SpecifiedTradeSettlementHeaderMonetarySummation>",
    );
    elem(&mut x, "LineTotalAmount", &money::decimal(totals.net_minor));
    elem(
        &mut x,
        "TaxBasisTotalAmount",
        &money::decimal(totals.net_minor),
    );
    let _ = write!(
        x,
        "<ram:TaxTotalAmount currencyID=\"{cur}\">{}</ram:TaxTotalAmount>",
        money::decimal(totals.vat_minor)
    );
    elem(
        &mut x,
        "GrandTotalAmount",
        &money::decimal(totals.gross_minor),
    );
    // A credit note is settled as it is issued: credited to the account, so
    // nothing is left to pay either way.
    let prepaid = if credit {
        totals.gross_minor
    } else {
        inv.settled_minor
    };
    elem(&mut x, "TotalPrepaidAmount", &money::decimal(prepaid));
    elem(
        &mut x,
        "DuePayableAmount",
        &money::decimal(totals.gross_minor - prepaid),
    );
    x.push_str("</ram:SpecifiedTradeSettlementHeaderMonetarySummation>");
    if let Some(original) = &inv.refers_to_number {
        x.push_str("<ram:InvoiceReferencedDocument>");
        elem(&mut x, "IssuerAssignedID", original);
        x.push_str("</ram:InvoiceReferencedDocument>");
    }
    x.push_str("</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>\n");
    x
}
