//! The translation table for all storefront and platform page text.
//!
//! One row per key holding every language, so a text cannot exist in one
//! language and be missing in the other.

use crate::Lang;

/// `(key, German, English)`. German addresses the customer formally ("Sie").
static TABLE: &[(&str, &str, &str)] = &[
    ("newsletter.title", "Newsletter", "Newsletter"),
    (
        "newsletter.lead",
        "Wählen Sie, worüber wir Sie informieren dürfen. Sie können sich jederzeit wieder abmelden.",
        "Choose what we may tell you about. You can leave at any time.",
    ),
    ("newsletter.categories", "Themen", "Topics"),
    ("newsletter.status_confirmed", "abonniert", "subscribed"),
    (
        "newsletter.status_pending",
        "Bestätigung ausstehend",
        "awaiting confirmation",
    ),
    (
        "newsletter.opt_in_note",
        "Sie erhalten eine E-Mail mit einem Bestätigungslink je Thema; erst danach schicken wir Ihnen etwas (Double-Opt-in).",
        "You will get an email with a confirmation link per topic; we send nothing before you confirm (double opt-in).",
    ),
    ("newsletter.subscribe", "Anmelden", "Subscribe"),
    ("newsletter.yours", "Ihre Abonnements", "Your subscriptions"),
    ("newsletter.unsubscribe", "Abmelden", "Unsubscribe"),
    (
        "newsletter.none",
        "Zurzeit gibt es keinen Newsletter.",
        "There is no newsletter at the moment.",
    ),
    (
        "newsletter.unsubscribe_title",
        "Newsletter abbestellen",
        "Unsubscribe from the newsletter",
    ),
    (
        "newsletter.unsubscribe_text",
        "Möchten Sie diesen Newsletter nicht mehr erhalten?",
        "Do you no longer want to receive this newsletter?",
    ),
    (
        "email.newsletter_opt_in.subject",
        "Bitte bestätigen Sie Ihre Newsletter-Anmeldung bei {brand}",
        "Please confirm your newsletter subscription at {brand}",
    ),
    (
        "email.newsletter_opt_in.text",
        "Sie (oder jemand mit Ihrer Adresse) haben sich für den Newsletter von {brand} angemeldet. Bitte bestätigen Sie jedes Thema mit seinem Link:",
        "You (or someone with your address) subscribed to the newsletter of {brand}. Please confirm each topic with its link:",
    ),
    (
        "email.newsletter_opt_in.ignore",
        "Wenn Sie das nicht waren, ignorieren Sie diese E-Mail; ohne Bestätigung erhalten Sie nichts.",
        "If this was not you, ignore this email; without confirmation you will receive nothing.",
    ),
    (
        "email.newsletter.unsubscribe",
        "Sie erhalten diese E-Mail, weil Sie den Newsletter von {brand} abonniert haben. Abbestellen:",
        "You receive this email because you subscribed to the newsletter of {brand}. Unsubscribe:",
    ),
    ("domains.owner_title", "Inhaber", "Holder"),
    (
        "domains.owner_lead",
        "Ein Inhaberwechsel trägt einen Ihrer Kontakte als neuen Inhaber bei der Registry ein.",
        "An owner change registers one of your contacts as the new holder at the registry.",
    ),
    ("domains.owner_new", "Neuer Inhaber", "New holder"),
    ("domains.owner_save", "Inhaber wechseln", "Change holder"),
    (
        "domains.owner_no_contacts",
        "Für einen Inhaberwechsel legen Sie zuerst den neuen Inhaber als Kontakt an:",
        "For an owner change, first add the new holder as a contact:",
    ),
    (
        "domains.owner_saved",
        "Der neue Inhaber ist bei der Registry eingetragen.",
        "The new holder is registered at the registry.",
    ),
    ("services.addons", "Zusatzleistungen buchen", "Book add-ons"),
    (
        "services.addons_lead",
        "Hosting, E-Mail-Postfächer und Homepage-Baukasten kommen über den Warenkorb zu Ihnen: Sie sehen den Preis, bevor Sie bestellen.",
        "Hosting, mailboxes and the site builder come through the cart: you see the price before you order.",
    ),
    ("domains.fwd_title", "Weiterleitungen", "Forwarding"),
    (
        "domains.fwd_web_lead",
        "Leiten Sie Besucher einer Adresse weiter: dauerhaft (301), vorübergehend (302) oder mit Ihrer Adresse in der Adresszeile (Frame).",
        "Send visitors of an address elsewhere: permanently (301), temporarily (302) or keeping your address in the address bar (frame).",
    ),
    ("domains.fwd_target", "Ziel", "Target"),
    ("domains.fwd_mode", "Art", "Type"),
    ("domains.fwd_301", "dauerhaft (301)", "permanent (301)"),
    ("domains.fwd_302", "vorübergehend (302)", "temporary (302)"),
    ("domains.fwd_frame", "Frame", "frame"),
    (
        "domains.fwd_save_web",
        "Web-Weiterleitungen speichern",
        "Save web forwarding",
    ),
    (
        "domains.fwd_mail_lead",
        "E-Mails an Adressen unter {domain} an ein anderes Postfach weiterleiten; * steht für alle übrigen Adressen.",
        "Forward email to addresses at {domain} to another mailbox; * stands for every other address.",
    ),
    ("domains.fwd_address", "Adresse", "Address"),
    ("domains.fwd_to", "weiterleiten an", "forward to"),
    (
        "domains.fwd_save_mail",
        "E-Mail-Weiterleitungen speichern",
        "Save email forwarding",
    ),
    (
        "domains.forwards_saved",
        "Die Weiterleitungen sind gespeichert und werden eingerichtet.",
        "The forwarding is saved and being set up.",
    ),
    ("domains.parking_title", "Parken", "Parking"),
    (
        "domains.parking_provider",
        "Parking-Anbieter",
        "Parking provider",
    ),
    ("domains.parking_none", "nicht geparkt", "not parked"),
    ("domains.parking_save", "Parken speichern", "Save parking"),
    (
        "domains.parking_saved",
        "Das Parken ist eingerichtet.",
        "Parking is set up.",
    ),
    ("services.access", "Zugang", "Access"),
    ("services.server", "Server", "Server"),
    ("services.username", "Benutzername", "User name"),
    ("services.password", "Passwort", "Password"),
    (
        "services.password_once",
        "Notieren Sie das Passwort jetzt: Es wird nur dieses eine Mal angezeigt und bei uns nicht gespeichert.",
        "Write the password down now: it is shown this one time and not kept by us.",
    ),
    (
        "services.password_shown",
        "Das Passwort wurde bereits angezeigt. Sie können es im Panel des Servers ändern.",
        "The password was shown already. You can change it in the server's panel.",
    ),
    (
        "services.show_password",
        "Passwort einmalig anzeigen",
        "Show password once",
    ),
    ("services.setting_up", "wird eingerichtet", "being set up"),
    (
        "account.nav.domains",
        "Domains & Dienste",
        "Domains & services",
    ),
    (
        "domains.title",
        "Domains und Dienste",
        "Domains and services",
    ),
    (
        "domains.none",
        "Sie haben noch keine Domains.",
        "You have no domains yet.",
    ),
    ("domains.find", "Domain finden", "Find a domain"),
    ("domains.col_name", "Domain", "Domain"),
    ("domains.col_status", "Status", "Status"),
    ("domains.col_expires", "Läuft bis", "Runs until"),
    ("domains.col_dns", "DNS", "DNS"),
    ("domains.dns_own", "eigene Nameserver", "own nameservers"),
    ("domains.dns_ours", "bei uns", "with us"),
    (
        "domains.status.pending",
        "wird registriert",
        "being registered",
    ),
    (
        "domains.status.pending_transfer",
        "Umzug läuft",
        "transfer pending",
    ),
    ("domains.status.active", "aktiv", "active"),
    ("domains.status.expiring", "läuft bald ab", "expiring soon"),
    (
        "domains.status.grace",
        "abgelaufen (Nachfrist)",
        "expired (grace period)",
    ),
    (
        "domains.status.redemption",
        "gelöscht – wiederherstellbar",
        "deleted – restorable",
    ),
    ("domains.status.deleted", "gelöscht", "deleted"),
    (
        "domains.status.transferred_out",
        "zu einem anderen Anbieter umgezogen",
        "moved to another provider",
    ),
    (
        "domains.status.failed",
        "nicht registriert",
        "not registered",
    ),
    ("domains.back", "← Alle Domains", "← All domains"),
    (
        "domains.expires_on",
        "läuft bis {date}",
        "runs until {date}",
    ),
    ("domains.dns_title", "DNS-Einträge", "DNS records"),
    (
        "domains.dns_lead",
        "Änderungen sind nach dem Speichern innerhalb weniger Minuten weltweit sichtbar. Leere Zeilen legen neue Einträge an.",
        "Changes are visible worldwide within minutes of saving. Empty rows add new records.",
    ),
    (
        "domains.dns_elsewhere",
        "Die Domain nutzt eigene Nameserver; DNS-Einträge pflegen Sie dort.",
        "The domain uses its own nameservers; you keep its DNS records there.",
    ),
    (
        "domains.dns_not_yet",
        "Die Zone wird angelegt, sobald die Domain aktiv ist.",
        "The zone is created as soon as the domain is active.",
    ),
    ("domains.col_host", "Name", "Name"),
    ("domains.col_type", "Typ", "Type"),
    ("domains.col_prio", "Priorität", "Priority"),
    ("domains.col_value", "Wert", "Value"),
    ("domains.col_delete", "Löschen", "Delete"),
    ("domains.save_records", "Einträge speichern", "Save records"),
    (
        "domains.records_saved",
        "Die DNS-Einträge sind gespeichert und werden veröffentlicht.",
        "The DNS records are saved and being published.",
    ),
    ("domains.ns_title", "Nameserver", "Nameservers"),
    ("domains.ns_current", "Aktuell:", "Current:"),
    (
        "domains.ns_lead",
        "Eigene Nameserver eintragen (2 bis 4). Liegt ein Nameserver innerhalb von {domain}, geben Sie seine IP-Adressen an (Glue).",
        "Enter your own nameservers (2 to 4). For a nameserver inside {domain}, give its IP addresses (glue).",
    ),
    ("domains.ns_host", "Nameserver {n}", "Nameserver {n}"),
    (
        "domains.ns_glue",
        "IP-Adressen (Glue)",
        "IP addresses (glue)",
    ),
    (
        "domains.ns_save",
        "Eigene Nameserver setzen",
        "Set own nameservers",
    ),
    (
        "domains.ns_use_ours",
        "Wieder unsere Nameserver nutzen",
        "Use our nameservers again",
    ),
    (
        "domains.ns_saved",
        "Die Nameserver sind bei der Registry eingetragen.",
        "The nameservers are set at the registry.",
    ),
    (
        "domains.transfer_title",
        "Umzug und AuthCode",
        "Transfer and AuthCode",
    ),
    (
        "domains.lock_on",
        "Die Transfersperre ist aktiv: Die Domain kann nicht zu einem anderen Anbieter umziehen.",
        "The transfer lock is on: the domain cannot move to another provider.",
    ),
    (
        "domains.lock_off",
        "Die Transfersperre ist aus: Mit dem AuthCode kann die Domain umziehen.",
        "The transfer lock is off: with the AuthCode the domain can move.",
    ),
    (
        "domains.lock_release",
        "Transfersperre aufheben",
        "Release the transfer lock",
    ),
    (
        "domains.lock_set",
        "Transfersperre setzen",
        "Set the transfer lock",
    ),
    (
        "domains.lock_saved",
        "Die Transfersperre ist geändert.",
        "The transfer lock is changed.",
    ),
    (
        "domains.authcode_lead",
        "Für einen Umzug zu einem anderen Anbieter brauchen Sie den AuthCode. Mit dem Anfordern wird ein neuer Code gesetzt und die Transfersperre aufgehoben.",
        "To move to another provider you need the AuthCode. Requesting it sets a new code and releases the transfer lock.",
    ),
    (
        "domains.authcode_request",
        "AuthCode anfordern",
        "Request AuthCode",
    ),
    (
        "domains.authcode_set",
        "Der neue AuthCode ist gesetzt und die Domain zum Umzug freigegeben.",
        "The new AuthCode is set and the domain released for transfer.",
    ),
    ("domains.authcode_is", "Ihr AuthCode:", "Your AuthCode:"),
    (
        "domains.authcode_hint",
        "Geben Sie ihn nur Ihrem neuen Anbieter. Er wird 24 Stunden lang angezeigt.",
        "Give it only to your new provider. It is shown for 24 hours.",
    ),
    (
        "domains.registry_down",
        "Die Registry ist gerade nicht erreichbar; bitte versuchen Sie es gleich noch einmal. Es wurde nichts geändert.",
        "The registry cannot be reached right now; please try again shortly. Nothing was changed.",
    ),
    (
        "domains.registry_refused",
        "Die Registry hat die Änderung abgelehnt; es wurde nichts geändert.",
        "The registry refused the change; nothing was changed.",
    ),
    ("domains.history", "Verlauf", "History"),
    ("services.title", "Dienste", "Services"),
    ("services.col_service", "Dienst", "Service"),
    ("services.col_period", "Laufzeit", "Term"),
    ("services.col_since", "Seit", "Since"),
    ("services.col_next", "Nächste Abrechnung", "Next billing"),
    ("services.months", "{n} Monate", "{n} months"),
    ("services.status.active", "aktiv", "active"),
    ("services.status.suspended", "gesperrt", "suspended"),
    ("services.status.terminated", "beendet", "terminated"),
    ("orders.job.failed", "fehlgeschlagen", "failed"),
    (
        "orders.completed.heading",
        "Bestellung {number} ist eingerichtet",
        "Order {number} is set up",
    ),
    (
        "orders.completed.text",
        "Alles ist eingerichtet. Ihre Domains und Dienste finden Sie unter „Domains & Dienste“.",
        "Everything is set up. You find your domains and services under “Domains & services”.",
    ),
    ("orders.status.completed", "eingerichtet", "set up"),
    ("prices.title", "Preisliste", "Price list"),
    (
        "prices.intro",
        "Unsere Preise für Domains pro Jahr.",
        "Our domain prices per year.",
    ),
    (
        "prices.personal",
        "Ihre persönlichen Preise für Domains pro Jahr.",
        "Your personal domain prices per year.",
    ),
    (
        "prices.caption",
        "Preise pro Jahr in {currency}",
        "Prices per year in {currency}",
    ),
    ("prices.col_tld", "Endung", "Extension"),
    ("prices.col_register", "Registrierung", "Registration"),
    ("prices.col_transfer", "Transfer", "Transfer"),
    ("prices.col_renew", "Verlängerung", "Renewal"),
    (
        "prices.gross_note",
        "Alle Preise inklusive {rate} % Umsatzsteuer.",
        "All prices include {rate}% VAT.",
    ),
    (
        "prices.net_note",
        "Alle Preise netto zuzüglich {rate} % Umsatzsteuer.",
        "All prices net, plus {rate}% VAT.",
    ),
    (
        "prices.reverse_charge_note",
        "Preise netto: Als Unternehmen in einem anderen EU-Staat schulden Sie die Umsatzsteuer (Reverse-Charge).",
        "Prices net: as a business in another EU state you account for the VAT (reverse charge).",
    ),
    (
        "prices.export_note",
        "Preise netto: Für Kunden außerhalb der EU fällt keine Umsatzsteuer an.",
        "Prices net: no VAT is charged to customers outside the EU.",
    ),
    // Page chrome
    (
        "a11y.skip_to_content",
        "Zum Inhalt springen",
        "Skip to content",
    ),
    (
        "test_registry.banner",
        "Testbetrieb: Domains werden bei einer Test-Registry angelegt, nicht wirklich registriert.",
        "Test mode: domains go to a test registry and are not really registered.",
    ),
    ("nav.language", "Sprache wählen", "Choose language"),
    ("nav.account", "Kundenkonto", "Customer account"),
    ("nav.my_account", "Mein Konto", "My account"),
    ("nav.sign_in", "Anmelden", "Sign in"),
    ("nav.sign_out", "Abmelden", "Sign out"),
    ("footer.legal", "Rechtliches", "Legal"),
    ("footer.imprint", "Impressum", "Imprint"),
    ("footer.privacy", "Datenschutz", "Privacy policy"),
    ("footer.terms", "AGB", "Terms and conditions"),
    (
        "footer.withdrawal",
        "Widerrufsbelehrung",
        "Right of withdrawal",
    ),
    (
        "consent.text",
        "Wir möchten mit Ihrer Einwilligung anonyme Besuchsstatistiken erheben, um diese Seite zu verbessern.",
        "With your consent we would like to collect visit statistics to improve this site.",
    ),
    ("consent.accept", "Einverstanden", "Accept"),
    ("consent.decline", "Ablehnen", "Decline"),
    // Home page
    (
        "home.title",
        "Domains, Hosting und E-Mail",
        "Domains, hosting and email",
    ),
    (
        "home.meta_description",
        "Ihre Wunschdomain, schnelles Webhosting und professionelle E-Mail-Postfächer – alles aus einer Hand.",
        "Your perfect domain, fast web hosting and professional email – all from a single provider.",
    ),
    (
        "home.hero.title",
        "Ihr Auftritt im Netz beginnt mit der richtigen Domain",
        "Your online presence starts with the right domain",
    ),
    (
        "home.hero.lead",
        "Sichern Sie sich Ihre Wunschdomain und bringen Sie Website und E-Mail mit zuverlässigem Hosting an den Start – einfach, schnell und zu fairen Preisen.",
        "Secure the domain you want and launch your website and email on reliable hosting – simple, fast and fairly priced.",
    ),
    (
        "home.search.label",
        "Wunschdomain prüfen",
        "Check your domain",
    ),
    (
        "home.search.placeholder",
        "meine-firma.de",
        "my-company.com",
    ),
    ("home.search.button", "Domain prüfen", "Check availability"),
    (
        "home.search.hint",
        "Mit oder ohne Endung, zum Beispiel meine-firma oder meine-firma.de",
        "With or without an extension, for example my-company or my-company.com",
    ),
    (
        "home.features.title",
        "Alles, was Sie online brauchen",
        "Everything you need online",
    ),
    ("home.features.domains.title", "Domains", "Domains"),
    (
        "home.features.domains.text",
        "Registrieren Sie Ihre Wunschdomain oder ziehen Sie bestehende Domains ganz einfach um – inklusive DNS-Verwaltung.",
        "Register the domain you want or move your existing domains with ease – DNS management included.",
    ),
    ("home.features.hosting.title", "Webhosting", "Web hosting"),
    (
        "home.features.hosting.text",
        "Schnelle, sichere Server für Ihre Website, Ihren Onlineshop oder Ihr WordPress – mit SSL-Zertifikat und regelmäßigen Backups.",
        "Fast, secure servers for your website, online shop or WordPress – with an SSL certificate and regular backups.",
    ),
    ("home.features.email.title", "E-Mail", "Email"),
    (
        "home.features.email.text",
        "Professionelle Postfächer mit Ihrer eigenen Domain – auf allen Geräten abrufbar, mit Spam- und Virenschutz.",
        "Professional mailboxes on your own domain – on all your devices, with spam and virus protection.",
    ),
    (
        "home.why.title",
        "Darum vertrauen uns unsere Kunden",
        "Why customers choose us",
    ),
    (
        "home.why.one_stop.title",
        "Alles aus einer Hand",
        "Everything in one place",
    ),
    (
        "home.why.one_stop.text",
        "Domain, Hosting und E-Mail in einem Kundenkonto – mit einer Rechnung.",
        "Domain, hosting and email in one customer account – on one invoice.",
    ),
    (
        "home.why.support.title",
        "Persönlicher Support",
        "Personal support",
    ),
    (
        "home.why.support.text",
        "Echte Ansprechpartner, die Ihre Fragen verständlich beantworten.",
        "Real people who answer your questions in plain language.",
    ),
    (
        "home.why.prices.title",
        "Transparente Preise",
        "Transparent pricing",
    ),
    (
        "home.why.prices.text",
        "Klare Konditionen ohne versteckte Kosten.",
        "Clear terms with no hidden costs.",
    ),
    (
        "home.why.security.title",
        "Sicher und zuverlässig",
        "Secure and reliable",
    ),
    (
        "home.why.security.text",
        "Verschlüsselte Verbindungen, regelmäßige Backups und laufende Überwachung.",
        "Encrypted connections, regular backups and continuous monitoring.",
    ),
    (
        "home.cta.title",
        "Bereit für Ihren Start?",
        "Ready to get started?",
    ),
    (
        "home.cta.text",
        "Finden Sie jetzt Ihre Domain – in wenigen Minuten ist Ihr Auftritt online.",
        "Find your domain now – your site can be online in minutes.",
    ),
    ("home.cta.button", "Jetzt Domain finden", "Find your domain"),
    // Platform pages
    ("not_found.title", "Seite nicht gefunden", "Page not found"),
    (
        "not_found.text",
        "Die angeforderte Seite existiert nicht oder ist nicht mehr verfügbar. Bitte überprüfen Sie die Adresse.",
        "The page you requested does not exist or is no longer available. Please check the address.",
    ),
    (
        "suspended.title",
        "Dieser Shop ist vorübergehend nicht erreichbar",
        "This shop is temporarily unavailable",
    ),
    (
        "suspended.text",
        "Bitte versuchen Sie es später noch einmal. Vielen Dank für Ihr Verständnis.",
        "Please try again later. Thank you for your patience.",
    ),
    // Forms
    ("form.optional", "optional", "optional"),
    ("form.please_choose", "Bitte wählen", "Please choose"),
    (
        "form.error_summary",
        "Bitte prüfen Sie die markierten Angaben.",
        "Please check the highlighted fields.",
    ),
    // Customer account: fields
    ("account.field.kind", "Kundentyp", "Customer type"),
    ("account.field.first_name", "Vorname", "First name"),
    ("account.field.last_name", "Nachname", "Last name"),
    ("account.field.company", "Firma", "Company"),
    (
        "account.field.buyer_reference",
        "Leitweg-ID oder Bestellreferenz",
        "Leitweg-ID or order reference",
    ),
    (
        "account.field.buyer_reference_hint",
        "Für Behörden und Firmen, die eine Referenz auf der Rechnung brauchen, z. B. 991-33333TEST-33",
        "For public authorities and companies that need a reference on the invoice, e.g. 991-33333TEST-33",
    ),
    (
        "account.field.company_hint",
        "Für Firmenkunden",
        "For company customers",
    ),
    ("account.field.email", "E-Mail-Adresse", "Email address"),
    ("account.field.password", "Passwort", "Password"),
    (
        "account.field.password_hint",
        "Mindestens 10 Zeichen",
        "At least 10 characters",
    ),
    (
        "account.field.new_password",
        "Neues Passwort",
        "New password",
    ),
    (
        "account.field.password_confirm",
        "Neues Passwort wiederholen",
        "Repeat new password",
    ),
    (
        "account.field.current_password",
        "Aktuelles Passwort",
        "Current password",
    ),
    (
        "account.field.new_email",
        "Neue E-Mail-Adresse",
        "New email address",
    ),
    (
        "account.field.street",
        "Straße und Hausnummer",
        "Street and house number",
    ),
    ("account.field.postal_code", "Postleitzahl", "Postal code"),
    ("account.field.city", "Ort", "City"),
    ("account.field.country", "Land", "Country"),
    ("account.field.phone", "Telefon", "Phone"),
    (
        "account.field.phone_hint",
        "Im internationalen Format, z. B. +49 30 1234567",
        "In international format, e.g. +49 30 1234567",
    ),
    ("account.field.language", "Sprache", "Language"),
    (
        "account.field.language_hint",
        "Für E-Mails und Rechnungen",
        "For emails and invoices",
    ),
    ("account.field.vat_id", "USt-IdNr.", "VAT ID"),
    (
        "account.field.vat_id_hint",
        "Zum Beispiel DE123456789",
        "For example DE123456789",
    ),
    ("account.field.iban", "IBAN", "IBAN"),
    ("account.field.bic", "BIC", "BIC"),
    (
        "account.field.account_holder",
        "Kontoinhaber",
        "Account holder",
    ),
    ("account.kind.person", "Privatkunde", "Private customer"),
    ("account.kind.company", "Firmenkunde", "Company customer"),
    (
        "account.section.personal",
        "Persönliche Angaben",
        "Personal details",
    ),
    ("account.section.access", "Zugangsdaten", "Sign-in details"),
    ("account.section.address", "Anschrift", "Address"),
    (
        "account.section.contact",
        "Kontakt und Sprache",
        "Contact and language",
    ),
    // Customer account: sign-up, sign-in, password reset
    (
        "account.signup.title",
        "Kundenkonto erstellen",
        "Create your account",
    ),
    (
        "account.signup.lead",
        "Mit Ihrem Kundenkonto bestellen und verwalten Sie Domains, Hosting und E-Mail.",
        "With a customer account you can order and manage domains, hosting and email.",
    ),
    (
        "account.signup.terms",
        "Ich akzeptiere die Allgemeinen Geschäftsbedingungen und habe die Datenschutzerklärung zur Kenntnis genommen.",
        "I accept the terms and conditions and have read the privacy policy.",
    ),
    ("account.signup.submit", "Konto erstellen", "Create account"),
    (
        "account.signup.have_account",
        "Sie haben bereits ein Kundenkonto?",
        "Already have an account?",
    ),
    ("account.login.title", "Anmelden", "Sign in"),
    (
        "account.login.lead",
        "Melden Sie sich mit Ihrer E-Mail-Adresse und Ihrem Passwort an.",
        "Sign in with your email address and password.",
    ),
    ("account.login.submit", "Anmelden", "Sign in"),
    (
        "account.login.forgot",
        "Passwort vergessen?",
        "Forgot your password?",
    ),
    (
        "account.login.no_account",
        "Noch kein Kundenkonto?",
        "New customer?",
    ),
    (
        "account.login.signup",
        "Konto erstellen",
        "Create an account",
    ),
    (
        "account.back_to_login",
        "Zurück zur Anmeldung",
        "Back to sign in",
    ),
    (
        "account.reset_request.title",
        "Passwort zurücksetzen",
        "Reset your password",
    ),
    (
        "account.reset_request.text",
        "Geben Sie die E-Mail-Adresse Ihres Kundenkontos ein. Falls ein Konto mit dieser Adresse existiert, senden wir Ihnen eine E-Mail mit einem Link, über den Sie ein neues Passwort festlegen können.",
        "Enter the email address of your customer account. If an account with this address exists, we will send you an email with a link to choose a new password.",
    ),
    (
        "account.reset_request.submit",
        "Link anfordern",
        "Send reset link",
    ),
    (
        "account.reset.title",
        "Neues Passwort festlegen",
        "Choose a new password",
    ),
    (
        "account.reset.lead",
        "Bitte wählen Sie ein neues Passwort für Ihr Kundenkonto.",
        "Please choose a new password for your customer account.",
    ),
    (
        "account.reset.submit",
        "Passwort speichern",
        "Save password",
    ),
    // Customer account: customer centre
    (
        "account.nav.label",
        "Bereiche Ihres Kundenkontos",
        "Account sections",
    ),
    ("account.nav.overview", "Übersicht", "Overview"),
    ("account.nav.profile", "Stammdaten", "Master data"),
    ("account.nav.security", "Sicherheit", "Security"),
    (
        "account.overview.greeting",
        "Willkommen, {name}",
        "Welcome, {name}",
    ),
    (
        "account.overview.number",
        "Ihre Kundennummer: {number}",
        "Your customer number: {number}",
    ),
    (
        "account.overview.profile_text",
        "Anschrift, Kontaktdaten, Bankverbindung und Newsletter verwalten.",
        "Manage your address, contact details, bank account and newsletters.",
    ),
    (
        "account.overview.security_text",
        "Passwort und E-Mail-Adresse ändern und angemeldete Geräte verwalten.",
        "Change your password and email address and manage signed-in devices.",
    ),
    (
        "account.profile.lead",
        "Diese Angaben verwenden wir für Verträge, Rechnungen und Domainregistrierungen.",
        "We use these details for contracts, invoices and domain registrations.",
    ),
    (
        "account.profile.email_note",
        "Sie melden sich mit {email} an.",
        "You sign in with {email}.",
    ),
    (
        "account.profile.email_link",
        "E-Mail-Adresse oder Passwort ändern",
        "Change email address or password",
    ),
    (
        "account.profile.bank.legend",
        "Bankverbindung und SEPA-Lastschrift",
        "Bank account and SEPA direct debit",
    ),
    (
        "account.profile.bank.text",
        "Optional: Mit einem SEPA-Lastschriftmandat ziehen wir fällige Rechnungen bequem von Ihrem Konto ein.",
        "Optional: with a SEPA direct debit mandate we collect invoices from your account when they are due.",
    ),
    (
        "account.profile.mandate.grant",
        "Ich erteile das SEPA-Lastschriftmandat",
        "I authorise SEPA direct debit",
    ),
    (
        "account.profile.mandate.text",
        "Ich ermächtige {creditor}, Zahlungen von meinem Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die von {creditor} auf mein Konto gezogenen Lastschriften einzulösen. Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem Kreditinstitut vereinbarten Bedingungen.",
        "By granting this mandate, you authorise (A) {creditor} to send instructions to your bank to debit your account and (B) your bank to debit your account in accordance with the instructions from {creditor}. As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your agreement with your bank. A refund must be claimed within eight weeks starting from the date on which your account was debited.",
    ),
    (
        "account.profile.mandate.signed",
        "Mandat {reference}, erteilt am {signed_on}",
        "Mandate {reference} signed on {signed_on}",
    ),
    (
        "account.profile.newsletter.legend",
        "Newsletter",
        "Newsletters",
    ),
    (
        "account.profile.newsletter.text",
        "Wählen Sie aus, worüber wir Sie per E-Mail informieren dürfen. Sie können Ihre Auswahl jederzeit ändern.",
        "Choose what we may email you about. You can change your choice at any time.",
    ),
    (
        "account.profile.submit",
        "Änderungen speichern",
        "Save changes",
    ),
    (
        "account.security.password.title",
        "Passwort ändern",
        "Change password",
    ),
    (
        "account.security.email.title",
        "E-Mail-Adresse ändern",
        "Change email address",
    ),
    (
        "account.security.email.current",
        "Ihre aktuelle E-Mail-Adresse: {email}",
        "Your current email address: {email}",
    ),
    (
        "account.security.email.note",
        "Wir senden einen Bestätigungslink an die neue Adresse. Die Änderung wird erst wirksam, wenn Sie diesen Link aufrufen.",
        "We will send a confirmation link to the new address. The change takes effect once you open that link.",
    ),
    (
        "account.security.email.submit",
        "Bestätigungslink senden",
        "Send confirmation link",
    ),
    (
        "account.security.sessions.title",
        "Angemeldete Geräte",
        "Signed-in devices",
    ),
    (
        "account.security.sessions.text",
        "Hier sehen Sie, wo Ihr Kundenkonto angemeldet ist. Erkennen Sie ein Gerät nicht, melden Sie sich überall ab und ändern Sie Ihr Passwort.",
        "This is where your account is signed in. If you do not recognise a device, sign out everywhere and change your password.",
    ),
    ("account.security.sessions.device", "Gerät", "Device"),
    ("account.security.sessions.ip", "IP-Adresse", "IP address"),
    (
        "account.security.sessions.created",
        "Angemeldet seit",
        "Signed in",
    ),
    (
        "account.security.sessions.last_seen",
        "Zuletzt aktiv",
        "Last active",
    ),
    (
        "account.security.sessions.current",
        "Dieses Gerät",
        "This device",
    ),
    (
        "account.security.sessions.unknown_device",
        "Unbekanntes Gerät",
        "Unknown device",
    ),
    (
        "account.security.sessions.empty",
        "Keine aktiven Sitzungen.",
        "No active sessions.",
    ),
    (
        "account.security.sessions.revoke_all",
        "Überall abmelden",
        "Sign out everywhere",
    ),
    (
        "account.security.sessions.revoke_all_hint",
        "Meldet Ihr Kundenkonto auf allen Geräten ab, auch auf diesem.",
        "Signs your account out on all devices, including this one.",
    ),
    // Customer account: texts the app passes in (headings, messages, flashes,
    // field errors); `t`/`t_args` in Rust, not looked up by the templates.
    (
        "account.msg.check_email.heading",
        "Bitte bestätigen Sie Ihre E-Mail-Adresse",
        "Please confirm your email address",
    ),
    (
        "account.msg.check_email.text",
        "Wir haben Ihnen eine E-Mail mit einem Bestätigungslink gesendet. Bitte öffnen Sie den Link, um Ihr Kundenkonto zu aktivieren.",
        "We have sent you an email with a confirmation link. Please open the link to activate your account.",
    ),
    (
        "account.msg.email_verified.heading",
        "E-Mail-Adresse bestätigt",
        "Email address confirmed",
    ),
    (
        "account.msg.email_verified.text",
        "Vielen Dank! Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden.",
        "Thank you! Your email address is confirmed. You can now sign in.",
    ),
    (
        "account.msg.link_expired.heading",
        "Link ungültig oder abgelaufen",
        "Link invalid or expired",
    ),
    (
        "account.msg.link_expired.text",
        "Dieser Link ist ungültig oder abgelaufen. Bitte fordern Sie einen neuen an.",
        "This link is invalid or has expired. Please request a new one.",
    ),
    (
        "account.msg.reset_sent.heading",
        "Bitte prüfen Sie Ihr Postfach",
        "Check your inbox",
    ),
    (
        "account.msg.reset_sent.text",
        "Falls ein Kundenkonto mit dieser E-Mail-Adresse existiert, haben wir Ihnen einen Link zum Zurücksetzen des Passworts gesendet.",
        "If an account with this email address exists, we have sent you a link to reset your password.",
    ),
    (
        "account.msg.password_reset.heading",
        "Passwort geändert",
        "Password changed",
    ),
    (
        "account.msg.password_reset.text",
        "Ihr neues Passwort ist gespeichert. Sie können sich jetzt damit anmelden.",
        "Your new password has been saved. You can now sign in with it.",
    ),
    (
        "account.msg.email_changed.heading",
        "E-Mail-Adresse geändert",
        "Email address changed",
    ),
    (
        "account.msg.email_changed.text",
        "Ihre neue E-Mail-Adresse ist bestätigt und ab sofort gültig.",
        "Your new email address is confirmed and now in use.",
    ),
    (
        "account.msg.email_change_sent",
        "Wir haben einen Bestätigungslink an {email} gesendet.",
        "We have sent a confirmation link to {email}.",
    ),
    (
        "account.msg.profile_saved",
        "Ihre Änderungen wurden gespeichert.",
        "Your changes have been saved.",
    ),
    (
        "account.msg.password_changed",
        "Ihr Passwort wurde geändert.",
        "Your password has been changed.",
    ),
    (
        "account.msg.signed_out",
        "Sie wurden abgemeldet.",
        "You have been signed out.",
    ),
    (
        "account.msg.signed_out_everywhere",
        "Sie wurden auf allen Geräten abgemeldet.",
        "You have been signed out on all devices.",
    ),
    (
        "account.msg.form_expired",
        "Das Formular ist abgelaufen. Bitte versuchen Sie es erneut.",
        "The form has expired. Please try again.",
    ),
    (
        "account.msg.too_many_attempts",
        "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es dann erneut.",
        "Too many attempts. Please wait a moment and try again.",
    ),
    (
        "account.msg.sign_in_required",
        "Bitte melden Sie sich an.",
        "Please sign in.",
    ),
    ("account.msg.go_to_login", "Zur Anmeldung", "Go to sign in"),
    (
        "account.msg.go_to_account",
        "Zu Ihrem Kundenkonto",
        "Go to your account",
    ),
    (
        "account.msg.request_new_link",
        "Neuen Link anfordern",
        "Request a new link",
    ),
    (
        "account.error.login_failed",
        "E-Mail-Adresse oder Passwort ist nicht korrekt.",
        "The email address or password is incorrect.",
    ),
    (
        "account.error.required",
        "Bitte füllen Sie dieses Feld aus.",
        "Please fill in this field.",
    ),
    (
        "account.error.invalid_choice",
        "Bitte wählen Sie eine der Möglichkeiten.",
        "Please choose one of the options.",
    ),
    (
        "account.error.email_invalid",
        "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        "Please enter a valid email address.",
    ),
    (
        "account.error.password_too_short",
        "Das Passwort muss mindestens 10 Zeichen lang sein.",
        "The password must be at least 10 characters long.",
    ),
    (
        "account.error.password_mismatch",
        "Die Passwörter stimmen nicht überein.",
        "The passwords do not match.",
    ),
    (
        "account.error.password_wrong",
        "Das Passwort ist nicht korrekt.",
        "The password is incorrect.",
    ),
    (
        "account.error.company_required",
        "Bitte geben Sie den Firmennamen an.",
        "Please enter the company name.",
    ),
    (
        "account.error.phone_invalid",
        "Bitte geben Sie die Nummer im internationalen Format an, z. B. +49 30 1234567.",
        "Please enter the number in international format, e.g. +49 30 1234567.",
    ),
    (
        "account.error.postal_code_invalid",
        "Bitte prüfen Sie die Postleitzahl.",
        "Please check the postal code.",
    ),
    (
        "account.error.vat_id_invalid",
        "Bitte prüfen Sie die USt-IdNr.",
        "Please check the VAT ID.",
    ),
    (
        "account.error.iban_invalid",
        "Bitte prüfen Sie die IBAN.",
        "Please check the IBAN.",
    ),
    (
        "account.error.bic_invalid",
        "Bitte prüfen Sie die BIC.",
        "Please check the BIC.",
    ),
    (
        "account.error.mandate_needs_bank_account",
        "Für das Lastschriftmandat benötigen wir IBAN und Kontoinhaber.",
        "For the direct debit mandate we need the IBAN and the account holder.",
    ),
    (
        "account.error.terms_required",
        "Bitte akzeptieren Sie die AGB, um fortzufahren.",
        "Please accept the terms and conditions to continue.",
    ),
    // Emails
    ("email.greeting", "Guten Tag {name},", "Hello {name},"),
    ("email.greeting_anonymous", "Guten Tag,", "Hello,"),
    (
        "email.link_valid_one",
        "Der Link ist 1 Stunde gültig.",
        "The link is valid for 1 hour.",
    ),
    (
        "email.link_valid_other",
        "Der Link ist {hours} Stunden gültig.",
        "The link is valid for {hours} hours.",
    ),
    (
        "email.link_valid_days",
        "Der Link ist {days} Tage gültig.",
        "The link is valid for {days} days.",
    ),
    ("email.sign_off", "Viele Grüße", "Kind regards"),
    (
        "email.signature",
        "Ihr Team von {brand}",
        "The {brand} team",
    ),
    (
        "email.verify.subject",
        "Bitte bestätigen Sie Ihre E-Mail-Adresse für {brand}",
        "Confirm your email address for {brand}",
    ),
    (
        "email.verify.text",
        "vielen Dank für Ihre Registrierung bei {brand}. Bitte bestätigen Sie Ihre E-Mail-Adresse, indem Sie den folgenden Link öffnen:",
        "Thank you for signing up with {brand}. Please confirm your email address by opening the following link:",
    ),
    (
        "email.verify.ignore",
        "Falls Sie sich nicht bei {brand} registriert haben, können Sie diese E-Mail ignorieren.",
        "If you did not sign up with {brand}, you can ignore this email.",
    ),
    (
        "email.reset.subject",
        "Ihr Passwort für {brand} zurücksetzen",
        "Reset your password for {brand}",
    ),
    (
        "email.reset.text",
        "wir haben eine Anfrage erhalten, das Passwort für Ihr Kundenkonto bei {brand} zurückzusetzen. Über den folgenden Link können Sie ein neues Passwort festlegen:",
        "We received a request to reset the password for your {brand} account. You can choose a new password using the following link:",
    ),
    (
        "email.reset.ignore",
        "Falls Sie diese Anfrage nicht gestellt haben, können Sie diese E-Mail ignorieren. Ihr bisheriges Passwort bleibt dann unverändert.",
        "If you did not request this, you can ignore this email. Your current password will remain unchanged.",
    ),
    (
        "email.signup_exists.subject",
        "Registrierung mit Ihrer E-Mail-Adresse bei {brand}",
        "Sign-up with your email address at {brand}",
    ),
    (
        "email.signup_exists.text",
        "jemand hat versucht, sich mit Ihrer E-Mail-Adresse bei {brand} zu registrieren. Für diese Adresse besteht bereits ein Kundenkonto, daher wurde kein neues angelegt.",
        "Someone tried to sign up at {brand} with your email address. There already is a customer account for this address, so no new one was created.",
    ),
    (
        "email.signup_exists.login",
        "Wenn Sie das waren, melden Sie sich hier an:",
        "If this was you, sign in here:",
    ),
    (
        "email.signup_exists.reset",
        "Falls Sie Ihr Passwort vergessen haben, setzen Sie es hier zurück:",
        "If you forgot your password, reset it here:",
    ),
    (
        "email.signup_exists.ignore",
        "Wenn Sie das nicht waren, können Sie diese E-Mail ignorieren. Ihr Konto bleibt unverändert.",
        "If this was not you, you can ignore this email. Your account stays as it is.",
    ),
    (
        "email.email_in_use.subject",
        "Ihre E-Mail-Adresse bei {brand}",
        "Your email address at {brand}",
    ),
    (
        "email.email_in_use.text",
        "jemand wollte Ihre E-Mail-Adresse für ein anderes Kundenkonto bei {brand} verwenden. Die Adresse gehört weiter zu Ihrem Konto; es wurde nichts geändert.",
        "Someone asked to use your email address for another customer account at {brand}. The address stays with your account; nothing was changed.",
    ),
    (
        "email.email_change.subject",
        "Bitte bestätigen Sie Ihre neue E-Mail-Adresse für {brand}",
        "Confirm your new email address for {brand}",
    ),
    (
        "email.email_change.text",
        "Sie möchten die E-Mail-Adresse Ihres Kundenkontos bei {brand} ändern. Bitte bestätigen Sie die neue Adresse über den folgenden Link:",
        "You asked to change the email address of your {brand} account. Please confirm the new address using the following link:",
    ),
    (
        "email.email_change.note",
        "Bis zur Bestätigung bleibt Ihre bisherige E-Mail-Adresse gültig.",
        "Until you confirm, your previous email address remains in use.",
    ),
    (
        "email.email_change.ignore",
        "Falls Sie diese Änderung nicht veranlasst haben, ignorieren Sie diese E-Mail und ändern Sie vorsorglich Ihr Passwort.",
        "If you did not ask for this change, ignore this email and change your password as a precaution.",
    ),
    (
        "email.staff_invite.subject",
        "Einladung zur Admin-Konsole von {brand}",
        "Invitation to the {brand} admin console",
    ),
    (
        "email.staff_invite.text",
        "{inviter} hat Sie als {role} in die Admin-Konsole von {brand} eingeladen. Über den folgenden Link nehmen Sie die Einladung an und legen Ihr Passwort fest:",
        "{inviter} has invited you to the {brand} admin console as {role}. Use the following link to accept the invitation and choose your password:",
    ),
    (
        "email.staff_invite.ignore",
        "Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.",
        "If you were not expecting this invitation, you can ignore this email.",
    ),
    ("nav.cart", "Warenkorb", "Cart"),
    ("search.title", "Domain-Suche", "Domain search"),
    ("search.filter", "Endungen filtern", "Filter extensions"),
    ("search.group.all", "Alle", "All"),
    ("search.group.top10", "Top 10", "Top 10"),
    ("search.group.europe", "Europa", "Europe"),
    ("search.group.gtld", "gTLDs", "gTLDs"),
    ("search.group.new-gtld", "Neue Endungen", "New gTLDs"),
    (
        "search.caption",
        "Verfügbarkeit und Preis pro Jahr,",
        "Availability and price per year,",
    ),
    ("search.gross", "inkl. USt.", "incl. VAT"),
    ("search.net", "netto zzgl. USt.", "net plus VAT"),
    ("search.col_domain", "Domain", "Domain"),
    ("search.col_status", "Status", "Status"),
    ("search.col_price", "Preis/Jahr", "Price/year"),
    ("search.col_action", "Aktion", "Action"),
    ("search.status.available", "frei", "available"),
    ("search.status.taken", "vergeben", "taken"),
    (
        "search.status.unknown",
        "unbekannt – bitte erneut versuchen",
        "unknown – please try again",
    ),
    ("search.status.checking", "wird geprüft …", "checking …"),
    (
        "search.status.not_offered",
        "nicht im Angebot",
        "not offered",
    ),
    ("search.add", "In den Warenkorb", "Add to cart"),
    ("search.transfer", "Umziehen", "Transfer"),
    (
        "search.transfer_add",
        "Transfer in den Warenkorb",
        "Add transfer to cart",
    ),
    ("search.auth_code", "AuthCode", "AuthCode"),
    ("search.try_again", "Erneut prüfen", "Check again"),
    (
        "search.suggestions",
        "Freie Alternativen",
        "Available alternatives",
    ),
    ("search.aftermarket", "Zu verkaufen", "For sale"),
    (
        "search.aftermarket_hint",
        "Diese vergebenen Domains bietet ihr Inhaber zum Kauf an.",
        "The owners of these taken domains offer them for sale.",
    ),
    (
        "search.aftermarket_ref",
        "Angebot {reference}",
        "Offer {reference}",
    ),
    ("cart.title", "Warenkorb", "Cart"),
    (
        "cart.empty",
        "Ihr Warenkorb ist leer.",
        "Your cart is empty.",
    ),
    ("cart.search", "Domain suchen", "Search a domain"),
    (
        "cart.id",
        "Warenkorb-Nr. {id} – nennen Sie diese Nummer, wenn Sie uns anrufen.",
        "Cart no. {id} – quote this number when you call us.",
    ),
    ("cart.col_item", "Position", "Item"),
    ("cart.col_period", "Laufzeit", "Term"),
    ("cart.col_net", "Netto", "Net"),
    ("cart.remove", "Entfernen", "Remove"),
    ("cart.kind.register", "Registrierung", "Registration"),
    ("cart.kind.transfer", "Transfer", "Transfer"),
    ("cart.kind.product", "Paket", "Plan"),
    ("cart.monthly", "monatlich", "monthly"),
    ("cart.one_year", "1 Jahr", "1 year"),
    ("cart.years", "{years} Jahre", "{years} years"),
    ("cart.discount", "Gutschein {code}", "Coupon {code}"),
    ("cart.net", "Summe netto", "Total net"),
    ("cart.vat", "USt. {rate} %", "VAT {rate}%"),
    ("cart.gross", "Gesamt", "Total"),
    ("cart.coupon", "Gutscheincode", "Coupon code"),
    ("cart.coupon_apply", "Einlösen", "Apply"),
    (
        "cart.cross_sell",
        "Passend zu {domain}",
        "Goes well with {domain}",
    ),
    ("cart.per_month", "{price} pro Monat", "{price} per month"),
    ("cart.checkout", "Zur Kasse", "Checkout"),
    (
        "checkout.title",
        "Bestellung abschließen",
        "Complete your order",
    ),
    ("checkout.summary", "Ihre Bestellung", "Your order"),
    (
        "checkout.new_customer",
        "Neu hier? Legen Sie Ihr Kundenkonto mit der Bestellung an.",
        "New here? Your customer account is created with the order.",
    ),
    (
        "checkout.have_account",
        "Bereits Kunde? Anmelden",
        "Already a customer? Sign in",
    ),
    (
        "checkout.as_customer",
        "Sie bestellen als {name} (Kundennr. {number}).",
        "You order as {name} (customer no. {number}).",
    ),
    (
        "checkout.terms",
        "Ich akzeptiere die AGB und die Widerrufsbelehrung.",
        "I accept the terms and conditions and the withdrawal notice.",
    ),
    (
        "checkout.submit",
        "Zahlungspflichtig bestellen ({total})",
        "Place order with obligation to pay ({total})",
    ),
    ("account.nav.orders", "Bestellungen", "Orders"),
    ("orders.title", "Ihre Bestellungen", "Your orders"),
    ("orders.order", "Bestellung", "Order"),
    (
        "orders.none",
        "Sie haben noch nichts bestellt.",
        "You have not ordered anything yet.",
    ),
    ("orders.col_date", "Datum", "Date"),
    ("orders.col_number", "Bestellnr.", "Order no."),
    ("orders.col_status", "Status", "Status"),
    ("orders.col_provisioning", "Einrichtung", "Setup"),
    ("orders.no_number", "in Prüfung", "in review"),
    ("orders.case_ref", "Vorgang {case}", "Case {case}"),
    ("orders.status.accepted", "angenommen", "accepted"),
    ("orders.status.review", "in Prüfung", "in review"),
    ("orders.status.rejected", "abgelehnt", "rejected"),
    ("orders.status.received", "eingegangen", "received"),
    (
        "orders.accepted.heading",
        "Danke! Bestellung {number} ist angenommen.",
        "Thank you! Order {number} is accepted.",
    ),
    (
        "orders.accepted.text",
        "Wir richten Ihre Domains und Pakete jetzt ein; der Status jeder Position steht unten.",
        "We are setting up your domains and plans now; each item's status is shown below.",
    ),
    (
        "orders.review.heading",
        "Ihre Bestellung wird geprüft",
        "Your order is being reviewed",
    ),
    (
        "orders.review.case",
        "Vorgangsnummer: {case}",
        "Case number: {case}",
    ),
    (
        "orders.review.credit_limit",
        "Der Betrag übersteigt Ihren aktuellen Kreditrahmen. Das ist kein Fehler: Unser Team prüft die Bestellung und gibt sie frei oder meldet sich bei Ihnen.",
        "The amount exceeds your current credit limit. This is not an error: our team reviews the order and releases it or gets in touch with you.",
    ),
    (
        "orders.review.risk",
        "Wir prüfen diese Bestellung vor der Freigabe noch einmal persönlich.",
        "We review this order in person before releasing it.",
    ),
    (
        "orders.review.manual",
        "Bestellungen werden bei uns vor der Ausführung persönlich freigegeben.",
        "Orders are released in person before we carry them out.",
    ),
    (
        "orders.review.next",
        "Bitte nennen Sie die Vorgangsnummer, wenn Sie uns kontaktieren. Sie erhalten eine E-Mail, sobald entschieden ist.",
        "Please quote the case number when you contact us. You will get an email as soon as it is decided.",
    ),
    (
        "orders.review.question",
        "Unsere Rückfrage:",
        "Our question:",
    ),
    (
        "orders.rejected.heading",
        "Bestellung abgelehnt",
        "Order rejected",
    ),
    (
        "orders.rejected.text",
        "Diese Bestellung wurde nicht angenommen. Bitte kontaktieren Sie uns bei Fragen.",
        "This order was not accepted. Please contact us with any questions.",
    ),
    ("orders.vat", "USt.", "VAT"),
    ("orders.all", "Alle Bestellungen", "All orders"),
    (
        "orders.job.queued",
        "wartet auf Einrichtung",
        "queued for setup",
    ),
    ("orders.job.running", "wird eingerichtet", "being set up"),
    ("orders.job.done", "eingerichtet", "set up"),
    (
        "orders.job.problem",
        "Problem – wir kümmern uns",
        "problem – we are on it",
    ),
    ("orders.job.waiting", "nach Freigabe", "after release"),
    (
        "email.order.subject_accepted",
        "Bestellung {number} angenommen – {brand}",
        "Order {number} accepted – {brand}",
    ),
    (
        "email.order.subject_review",
        "Ihre Bestellung wird geprüft (Vorgang {case}) – {brand}",
        "Your order is being reviewed (case {case}) – {brand}",
    ),
    (
        "email.order.subject_rejected",
        "Ihre Bestellung wurde abgelehnt – {brand}",
        "Your order was rejected – {brand}",
    ),
    (
        "email.order.subject_received",
        "Bestellung eingegangen – {brand}",
        "Order received – {brand}",
    ),
    (
        "email.order.accepted",
        "vielen Dank für Ihre Bestellung über {total}. Sie ist unter der Nummer {number} angenommen; wir richten jetzt alles ein.",
        "Thank you for your order of {total}. It is accepted under number {number}; we are setting everything up now.",
    ),
    (
        "email.order.subject_completed",
        "Bestellung {number} ist eingerichtet – {brand}",
        "Order {number} is set up – {brand}",
    ),
    (
        "email.order.completed",
        "Ihre Bestellung {number} ist eingerichtet: Ihre Domains sind registriert und Ihre Dienste aktiv. Sie finden alles in Ihrem Kundenbereich.",
        "Your order {number} is set up: your domains are registered and your services active. You find everything in your customer center.",
    ),
    (
        "email.order.review",
        "Ihre Bestellung über {total} ist eingegangen und wird geprüft. Ihre Vorgangsnummer lautet {case}. Sie hören von uns, sobald entschieden ist.",
        "Your order of {total} has arrived and is being reviewed. Your case number is {case}. You will hear from us as soon as it is decided.",
    ),
    (
        "email.order.rejected",
        "Ihre Bestellung über {total} konnten wir leider nicht annehmen.",
        "Unfortunately we could not accept your order of {total}.",
    ),
    (
        "email.order.received",
        "Ihre Bestellung über {total} ist eingegangen.",
        "Your order of {total} has arrived.",
    ),
    ("widget.title", "Registrieren", "Sign up"),
    (
        "widget.heading",
        "Kunde werden bei {brand}",
        "Become a customer of {brand}",
    ),
    (
        "widget.signup",
        "Kundenkonto anlegen",
        "Create your account",
    ),
    ("widget.domain", "Wunsch-Domain", "Domain you want"),
    (
        "widget.domain_hint",
        "Optional: wir zeigen Ihnen danach, ob sie frei ist.",
        "Optional: we show you right after whether it is free.",
    ),
    ("widget.submit", "Konto anlegen", "Create account"),
    ("cart.change", "Ändern", "Change"),
    (
        "sms.code",
        "{brand}: Ihr Freischaltcode lautet {code}. Er gilt 30 Minuten.",
        "{brand}: your activation code is {code}. It is valid for 30 minutes.",
    ),
    (
        "orders.code.heading",
        "Bitte bestätigen Sie Ihre Bestellung",
        "Please confirm your order",
    ),
    (
        "orders.code.text",
        "Wir haben Ihnen einen sechsstelligen Code per SMS geschickt. Geben Sie ihn hier ein, um die Bestellung freizuschalten.",
        "We have sent you a six-digit code by SMS. Enter it here to activate the order.",
    ),
    ("orders.code.field", "Code aus der SMS", "Code from the SMS"),
    (
        "orders.code.submit",
        "Bestellung freischalten",
        "Activate order",
    ),
    ("orders.code.resend", "Neuen Code senden", "Send a new code"),
    (
        "orders.status.awaiting_code",
        "wartet auf SMS-Code",
        "awaiting SMS code",
    ),
    (
        "cart.trustee_on",
        "Admin-Kontakt: unser Treuhandservice.",
        "Admin contact: our trustee service.",
    ),
    (
        "cart.trustee_off",
        "Ohne deutsche Anschrift brauchen Sie unseren Treuhandservice als Admin-Kontakt.",
        "Without a German address you need our trustee service as admin contact.",
    ),
    (
        "cart.trustee_add",
        "Treuhandservice nutzen",
        "Use trustee service",
    ),
    ("cart.trustee_remove", "Nicht nutzen", "Do not use"),
    (
        "search.status.preregister",
        "Vorregistrierung bis {date}",
        "pre-registration until {date}",
    ),
    (
        "search.status.sunrise",
        "Sunrise bis {date}: nur Markeninhaber",
        "sunrise until {date}: trademark holders only",
    ),
    ("search.preregister", "Vorregistrieren", "Pre-register"),
    (
        "search.sunrise",
        "Mit SMD-Datei registrieren",
        "Register with SMD file",
    ),
    ("search.smd_file", "SMD-Datei", "SMD file"),
    (
        "search.smd_text",
        "oder Inhalt einfügen",
        "or paste its content",
    ),
    (
        "cart.kind.preregister",
        "Vorregistrierung",
        "Pre-registration",
    ),
    (
        "cart.kind.sunrise",
        "Sunrise (Marke)",
        "Sunrise (trademark)",
    ),
    ("account.nav.contacts", "Kontakte", "Contacts"),
    ("contacts.title", "Domain-Kontakte", "Domain contacts"),
    (
        "contacts.lead",
        "Inhaber, die Sie bei der Bestellung für einzelne Domains wählen können (zum Beispiel für Ihre Kunden). Ohne Auswahl sind Sie selbst Inhaber.",
        "Holders you can choose per domain when ordering (for example your clients). Without a choice you are the holder.",
    ),
    ("contacts.new", "Neuer Kontakt", "New contact"),
    ("contacts.save", "Kontakt speichern", "Save contact"),
    ("cart.holder", "Inhaber:", "Holder:"),
    ("cart.holder_me", "ich selbst", "myself"),
    (
        "cart.holder_add",
        "Anderen Inhaber anlegen",
        "Add another holder",
    ),
    (
        "account.overview.number_pending",
        "Ihre Kundennummer erhalten Sie mit Ihrer ersten angenommenen Bestellung.",
        "You get your customer number with your first accepted order.",
    ),
    (
        "checkout.as_new_customer",
        "Sie bestellen als {name}.",
        "You order as {name}.",
    ),
    ("account.nav.invoices", "Rechnungen", "Invoices"),
    ("pay.now", "Jetzt bezahlen", "Pay now"),
    (
        "pay.topup_title",
        "Guthaben aufladen",
        "Top up your balance",
    ),
    ("pay.topup_amount", "Betrag", "Amount"),
    ("pay.topup_button", "Aufladen", "Top up"),
    (
        "pay.topup_item",
        "Guthaben für Kundennummer",
        "Credit for customer no.",
    ),
    (
        "pay.methods_note",
        "Sie zahlen auf einer sicheren Seite unseres Zahlungsdienstleisters Stripe per Karte, PayPal oder SEPA-Lastschrift.",
        "You pay on a secure page of our payment provider Stripe, by card, PayPal or SEPA direct debit.",
    ),
    (
        "pay.unavailable",
        "Online-Zahlung ist derzeit nicht möglich.",
        "Online payment is not available at the moment.",
    ),
    (
        "pay.amount_invalid",
        "Bitte geben Sie einen Betrag zwischen 1,00 und 10.000,00 ein.",
        "Please enter an amount between 1.00 and 10,000.00.",
    ),
    (
        "pay.provider_down",
        "Der Zahlungsdienstleister ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
        "The payment provider cannot be reached right now. Please try again in a moment.",
    ),
    (
        "pay.thanks",
        "Danke für Ihre Zahlung. Sie wird verbucht, sobald der Zahlungsdienstleister sie bestätigt.",
        "Thank you for your payment. It is booked as soon as the payment provider confirms it.",
    ),
    (
        "pay.cancelled",
        "Die Zahlung wurde abgebrochen; es wurde nichts abgebucht.",
        "The payment was cancelled; nothing was charged.",
    ),
    ("invoices.level.1", "Zahlungserinnerung", "Payment reminder"),
    ("invoices.level.2", "1. Mahnung", "First notice"),
    ("invoices.level.3", "2. Mahnung", "Second notice"),
    ("invoices.level.4", "Letzte Mahnung", "Final notice"),
    ("invoices.title", "Ihre Rechnungen", "Your invoices"),
    ("invoices.balance", "Kontostand", "Balance"),
    ("invoices.open_total", "Offen", "Open"),
    (
        "invoices.statement",
        "Kontoauszug (PDF)",
        "Statement of account (PDF)",
    ),
    (
        "invoices.none",
        "Noch keine Rechnungen.",
        "No invoices yet.",
    ),
    ("invoices.col_number", "Beleg", "Document"),
    ("invoices.col_date", "Datum", "Date"),
    ("invoices.col_due", "Fällig", "Due"),
    ("invoices.col_amount", "Betrag", "Amount"),
    ("invoices.col_open", "Offen", "Open"),
    ("invoices.col_status", "Status", "Status"),
    ("invoices.col_files", "Dateien", "Files"),
    ("invoices.invoice", "Rechnung", "Invoice"),
    ("invoices.credit_note", "Gutschrift", "Credit note"),
    ("invoices.for", "zu {number}", "for {number}"),
    ("domain_op.create", "Registriert", "Registered"),
    (
        "domain_op.contact_create",
        "Inhaberkontakt angelegt",
        "Holder contact created",
    ),
    (
        "domain_op.lock_on",
        "Transfersperre gesetzt",
        "Transfer lock set",
    ),
    (
        "domain_op.lock_off",
        "Transfersperre aufgehoben",
        "Transfer lock removed",
    ),
    ("domain_op.authcode", "AuthCode gesetzt", "AuthCode set"),
    (
        "domain_op.nameservers",
        "Nameserver geändert",
        "Nameservers changed",
    ),
    (
        "domain_op.host",
        "Nameserver-Host mit Glue angelegt",
        "Nameserver host with glue created",
    ),
    ("domain_op.owner_change", "Inhaberwechsel", "Owner change"),
    ("domain_op.renew", "Verlängert", "Renewed"),
    ("domain_op.restore", "Wiederhergestellt", "Restored"),
    ("domain_op.deleted", "Gelöscht", "Deleted"),
    (
        "domain_op.lifecycle",
        "Laufzeitstatus geändert",
        "Lifecycle status changed",
    ),
    (
        "domain_op.transfer_request",
        "Transfer beantragt",
        "Transfer requested",
    ),
    (
        "domain_op.transfer_query",
        "Transferstatus abgefragt",
        "Transfer status checked",
    ),
    (
        "domain_op.transfer_completed",
        "Transfer abgeschlossen",
        "Transfer completed",
    ),
    (
        "domain_op.transferred_out",
        "Zu anderem Anbieter umgezogen",
        "Transferred to another provider",
    ),
    ("domain_op.zone", "DNS-Zone angelegt", "DNS zone created"),
    (
        "domain_op.records",
        "DNS-Einträge geändert",
        "DNS records changed",
    ),
    (
        "domain_op.web_forwards",
        "Weiterleitungen geändert",
        "Web forwards changed",
    ),
    (
        "domain_op.mail_forwards",
        "E-Mail-Weiterleitungen geändert",
        "Mail forwards changed",
    ),
    ("domain_op.parking", "Parken geändert", "Parking changed"),
    ("domain_outcome.done", "erledigt", "done"),
    (
        "domain_outcome.pending",
        "in Bearbeitung bei der Registry",
        "pending at the registry",
    ),
    ("domain_outcome.refused", "abgelehnt", "refused"),
    ("invoices.state.open", "offen", "open"),
    ("invoices.state.paid", "bezahlt", "paid"),
    ("invoices.state.cancelled", "storniert", "cancelled"),
    (
        "invoices.state.collection_pending",
        "wird am {date} eingezogen",
        "collected by direct debit on {date}",
    ),
    (
        "invoices.payments",
        "Zahlungen und Buchungen",
        "Payments and entries",
    ),
    ("services.status.ended", "beendet", "ended"),
    ("services.contract", "Vertrag", "Contract"),
    ("services.ends", "endet am {date}", "ends on {date}"),
    ("services.cancel", "Kündigen", "Cancel"),
    (
        "cancel.done",
        "Gekündigt zum {date}. Bis dahin läuft die Leistung weiter.",
        "Cancelled as of {date}. The service runs until then.",
    ),
    (
        "cancel.refused",
        "Diese Leistung ist bereits gekündigt oder beendet.",
        "This service is already cancelled or has ended.",
    ),
    (
        "domains.restore_lead",
        "Die Domain ist gelöscht und in der Wiederherstellungsfrist. Die Wiederherstellung kostet {restore} – deutlich mehr als die Verlängerung ({renew}).",
        "The domain has been deleted and is in its redemption period. Restoring it costs {restore}, far more than a renewal ({renew}).",
    ),
    (
        "domains.restore_button",
        "Für {price} wiederherstellen",
        "Restore for {price}",
    ),
    (
        "domains.grace_lead",
        "Die Domain ist abgelaufen. Mit Guthaben oder Kreditrahmen für {renew} wird sie beim nächsten Abrechnungslauf verlängert.",
        "The domain has expired. With balance or credit for {renew} it is renewed by the next billing run.",
    ),
];

/// The text for `key` in `lang`, or `None` if the key is unknown.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, de, en)| match lang {
            Lang::De => de,
            Lang::En => en,
        })
}

/// The text for `key` in `lang`. An unknown key yields an empty string rather
/// than a panic; templates go through [`lookup`] and fail loudly instead, and
/// the tests check every key the templates use.
pub fn t(lang: Lang, key: &str) -> &'static str {
    lookup(lang, key).unwrap_or_default()
}

/// Like [`t`], with the text's `{name}` placeholders filled from `args`, e.g.
/// `t_args(lang, "account.msg.email_change_sent", &[("email", address)])`.
/// A placeholder without a value is left as it is, so the gap shows.
pub fn t_args(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    fill(t(lang, key), |name| {
        Ok::<_, std::convert::Infallible>(
            args.iter()
                .find(|(arg, _)| *arg == name)
                .map_or_else(|| format!("{{{name}}}"), |(_, value)| (*value).to_owned()),
        )
    })
    .unwrap_or_else(|never| match never {})
}

/// Replaces every `{name}` placeholder (lowercase letters and `_`) in `text`
/// with `value_of(name)`. One pass, so a value that itself contains braces is
/// never expanded again; other braces are kept as they are.
pub(crate) fn fill<E>(
    text: &str,
    mut value_of: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_placeholder_name(&after[..close]) => {
                out.push_str(&value_of(&after[..close])?);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
pub(crate) fn keys() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|&(key, _, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = keys().collect();
        let total = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), total, "duplicate translation key");
    }

    #[test]
    fn no_translation_is_blank() {
        for key in keys() {
            for lang in Lang::ALL {
                assert!(
                    !t(lang, key).trim().is_empty(),
                    "{key} is blank in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn languages_differ() {
        assert_eq!(t(Lang::De, "not_found.title"), "Seite nicht gefunden");
        assert_eq!(t(Lang::En, "not_found.title"), "Page not found");
    }

    #[test]
    fn unknown_key_is_empty() {
        assert_eq!(lookup(Lang::En, "no.such.key"), None);
        assert_eq!(t(Lang::De, "no.such.key"), "");
    }

    fn placeholders(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        fill(text, |name| {
            names.push(name.to_owned());
            Ok::<_, ()>(String::new())
        })
        .unwrap();
        names.sort_unstable();
        names.dedup();
        names
    }

    #[test]
    fn both_languages_have_the_same_placeholders() {
        for key in keys() {
            assert_eq!(
                placeholders(t(Lang::De, key)),
                placeholders(t(Lang::En, key)),
                "{key}: placeholders differ between the languages"
            );
        }
        assert_eq!(
            placeholders(t(Lang::En, "email.staff_invite.text")),
            ["brand", "inviter", "role"]
        );
    }

    #[test]
    fn fill_replaces_placeholders_in_one_pass() {
        let filled = fill("Hi {name}, {name}! {x-y} {} {unclosed", |name| {
            Ok::<_, ()>(format!("<{name}:{{name}}>"))
        });
        assert_eq!(
            filled.unwrap(),
            "Hi <name:{name}>, <name:{name}>! {x-y} {} {unclosed"
        );
        let missing = fill("{a} {b}", |name| Err::<String, _>(name.to_owned()));
        assert_eq!(missing, Err("a".to_owned()));
    }

    #[test]
    fn t_args_fills_and_keeps_missing_placeholders() {
        let args = [("email", "a@example.com")];
        assert_eq!(
            t_args(Lang::De, "account.msg.email_change_sent", &args),
            "Wir haben einen Bestätigungslink an a@example.com gesendet."
        );
        assert_eq!(
            t_args(Lang::En, "account.overview.greeting", &[]),
            "Welcome, {name}"
        );
        assert_eq!(t_args(Lang::En, "no.such.key", &[("name", "x")]), "");
    }
}
