//! The closed sets of values a customer record uses, with their label keys.

/// (value, translation key of the label)
pub type Choices = &'static [(&'static str, &'static str)];

pub const KINDS: Choices = &[
    ("person", "opt.kind.person"),
    ("company", "opt.kind.company"),
];
pub const LANGUAGES: Choices = &[("de", "opt.lang.de"), ("en", "opt.lang.en")];
pub const CURRENCIES: Choices = &[
    ("EUR", "opt.cur.eur"),
    ("CHF", "opt.cur.chf"),
    ("GBP", "opt.cur.gbp"),
    ("USD", "opt.cur.usd"),
];
pub const BILLING_TYPES: Choices = &[
    ("BANKTRANSFER", "opt.billing.banktransfer"),
    ("DEBIT", "opt.billing.debit"),
];
pub const DEBIT_STATUSES: Choices = &[
    ("INACTIVE", "opt.debit.inactive"),
    ("ACTIVE", "opt.debit.active"),
    ("REVOKED", "opt.debit.revoked"),
];
pub const BILLING_INTERVALS: Choices = &[
    ("monthly", "opt.interval.monthly"),
    ("quarterly", "opt.interval.quarterly"),
    ("semiannual", "opt.interval.semiannual"),
    ("yearly", "opt.interval.yearly"),
];
pub const PAYMENT_METHODS: Choices = &[
    ("bank_transfer", "opt.pay.bank_transfer"),
    ("direct_debit", "opt.pay.direct_debit"),
    ("card", "opt.pay.card"),
    ("paypal", "opt.pay.paypal"),
];
pub const DUNNING_TYPES: Choices = &[
    ("standard", "opt.dunning.standard"),
    ("reminder_only", "opt.dunning.reminder_only"),
    ("none", "opt.dunning.none"),
];
pub const INVOICE_DELIVERIES: Choices = &[
    ("email", "opt.delivery.email"),
    ("postal", "opt.delivery.postal"),
];
pub const NEWSLETTER_CATEGORIES: Choices = &[
    ("product_news", "opt.news.product_news"),
    ("offers", "opt.news.offers"),
    ("maintenance", "opt.news.maintenance"),
];

pub fn is_choice(choices: Choices, value: &str) -> bool {
    choices.iter().any(|(v, _)| *v == value)
}

/// `500`, `500.5`, `500.50` or `500,50` -> 50000 minor units. Not negative, at most
/// two decimals, below one billion.
pub fn parse_amount(input: &str) -> Option<i64> {
    let s = input.trim().replace(',', ".");
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

/// An amount that may carry a leading `-` (ledger corrections).
pub fn parse_signed_amount(input: &str) -> Option<i64> {
    let s = input.trim();
    match s.strip_prefix('-') {
        Some(rest) => parse_amount(rest).map(|a| -a),
        None => parse_amount(s),
    }
}

/// Why `input` is not an amount, as an error code naming the problem.
pub fn amount_error(input: &str) -> &'static str {
    let s = input.trim().replace(',', ".");
    if s.starts_with('-') && parse_amount(&s[1..]).is_some() {
        "err.amount_negative"
    } else if s
        .split_once('.')
        .is_some_and(|(w, f)| f.len() > 2 && parse_amount(&format!("{w}.{}", &f[..2])).is_some())
    {
        "err.amount_precision"
    } else {
        "err.amount"
    }
}

/// Basis points as a percentage without needless decimals: 1900 -> "19", 750 -> "7.5".
pub fn format_percent(bp: i64) -> String {
    format_amount(bp)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}

pub fn format_amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("500"), Some(50000));
        assert_eq!(parse_amount("500.5"), Some(50050));
        assert_eq!(parse_amount("1234,56"), Some(123456));
        assert_eq!(parse_amount("0"), Some(0));
        for bad in ["", "-1", "1.234", "abc", "1e5", "1234567890"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(amount_error("-5"), "err.amount_negative");
        assert_eq!(amount_error("1.234"), "err.amount_precision");
        assert_eq!(amount_error("1,2x"), "err.amount");
        assert_eq!(format_amount(50000), "500.00");
        assert_eq!(format_amount(5), "0.05");
        assert_eq!(format_percent(1900), "19");
        assert_eq!(format_percent(750), "7.5");
        assert_eq!(format_percent(0), "0");
    }
}
