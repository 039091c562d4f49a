//! A corpus of runaway templates, as a hostile reseller would publish them.
//!
//! Each bomb is tried as the reseller's footer twice: as it is, and behind a
//! branch that only the German shop takes. Every one must fail in preview
//! (which renders every language), and at run time the shop must still serve
//! its pages in both languages, with the built-in footer where the reseller's
//! failed. The whole corpus runs in this process, which must stay up and
//! whose peak resident memory may grow by less than 64 MiB.
//!
//! This is its own test binary so that the memory it measures is its own.

use relabel_themes::{Brand, Lang, LangLink, Look, StorePage, Themes};

/// The bombs: `(what, footer source)`.
fn corpus() -> Vec<(&'static str, String)> {
    let s = |what: &'static str, src: &str| (what, src.to_owned());
    let mut bombs = vec![
        // Strings
        s("a 100 MB string", "{{ (\"x\" * 100000000)|length }}"),
        s("a 4 GB string", "{{ (\"x\" * 4294967296)|length }}"),
        s(
            "a string doubled in a loop",
            "{% set ns = namespace(s=\"0123456789\") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        ),
        s(
            "a string doubled by recursion",
            "{% macro f(s, n) %}{% if n > 0 %}{{ f(s ~ s, n - 1) }}{% else %}{{ s|length }}{% endif %}{% endmacro %}{{ f(\"0123456789\" * 10000, 20) }}",
        ),
        s(
            "a string squared by replace",
            "{% set s = \"xxxxxxxxxx\" %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{% set s = s|replace(\"x\", s) %}{{ s|length }}",
        ),
        s(
            "replace with a large replacement",
            "{{ (\"x\" * 10000)|replace(\"x\", \"y\" * 100000)|length }}",
        ),
        s(
            "indent with a huge width",
            "{{ (\"a\\n\" * 1000)|indent(100000000)|length }}",
        ),
        s(
            "indent of many lines",
            "{{ (\"a\\n\" * 100000)|indent(1000, true, true)|length }}",
        ),
        s(
            "format with a huge width",
            "{{ \"%1000000000s\"|format(1) }}",
        ),
        s(
            "format with a huge precision",
            "{{ \"%.1000000000f\"|format(1.5)|length }}",
        ),
        s(
            "format repeating a large argument",
            "{% set x = \"x\" * 100000 %}{{ (\"%s\" * 1000)|format(*([x] * 1000))|length }}",
        ),
        s(
            "join with a large separator",
            "{{ range(100000)|join(\"x\" * 100000)|length }}",
        ),
        s(
            "escaping grows a string fivefold, again and again",
            "{% set ns = namespace(s=\"<\" * 1000) %}{% for i in range(20) %}{% set ns.s = (ns.s|escape|string)|replace(\"&\", \"<\") %}{% endfor %}{{ ns.s|length }}",
        ),
        s(
            "urlencode repeated",
            "{% set ns = namespace(s=\"%\" * 1000) %}{% for i in range(20) %}{% set ns.s = ns.s|urlencode|replace(\"2\", \"%\") %}{% endfor %}{{ ns.s|length }}",
        ),
        s(
            "a string concatenated in a long loop",
            "{% set ns = namespace(s=\"\") %}{% for i in range(100000) %}{% set ns.s = ns.s ~ \"0123456789\" %}{% endfor %}{{ ns.s|length }}",
        ),
        s(
            "upper, lower and title of a large string",
            "{{ (\"x\" * 50000000)|upper|lower|title|length }}",
        ),
        s(
            "a large list stringified",
            "{{ (range(100000)|list * 100)|string|length }}",
        ),
        s(
            "pprint of a large list",
            "{{ ([\"x\" * 100] * 1000000)|pprint|length }}",
        ),
        // Lists
        s(
            "a list of 100 million items",
            "{{ ([1] * 100000000)|list|length }}",
        ),
        s(
            "a list doubled in a loop",
            "{% set ns = namespace(l=[1, 2]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}",
        ),
        s(
            "a list doubled 40 times",
            &format!(
                "{{% set l = [1, 2] %}}{}{{{{ l|length }}}}",
                "{% set l = l + l %}".repeat(40)
            ),
        ),
        s(
            "a sum of large lists",
            "{{ ([[1, 2] * 40000000] * 40)|sum(start=[])|length }}",
        ),
        s(
            "a range made a list a thousand times",
            "{{ (range(100000)|list * 1000)|length }}",
        ),
        s(
            "batch filled to a huge size",
            "{{ range(10)|batch(1000000000, fill_with=0)|list|length }}",
        ),
        s(
            "slice into a huge number of slices",
            "{{ range(100000)|slice(1000000000)|list|length }}",
        ),
        s(
            "slice filled to a huge size",
            "{{ range(10)|slice(3, fill_with=[0] * 10000000)|list|length }}",
        ),
        s(
            "a large string made a list of characters",
            "{{ (\"x\" * 10000000)|list|length }}",
        ),
        s(
            "a large string split into words",
            "{{ (\"a \" * 10000000)|split|list|length }}",
        ),
        s(
            "sort, unique and reverse of a large list",
            "{{ (range(100000)|list * 50)|sort|unique|reverse|list|length }}",
        ),
        s(
            "zip of large lists",
            "{% set l = range(100000)|list %}{{ l|zip(l, l, l)|list|length }}",
        ),
        s(
            "map over a huge list",
            "{{ ([\"x\" * 100] * 10000000)|map(\"upper\")|list|length }}",
        ),
        // Maps
        s(
            "a map grown in a loop",
            "{% set ns = namespace(d={}) %}{% for i in range(100000) %}{% set ns.d = dict(ns.d, **{i|string: \"x\" * 1000}) %}{% endfor %}{{ ns.d|length }}",
        ),
        s(
            "dictsort of a large map",
            "{{ dict(a=(\"x\" * 100000000))|dictsort|length }}",
        ),
        s(
            "items of a map of large values",
            "{% set d = dict(a=[\"x\" * 100] * 10000000) %}{{ d|items|list|tojson|length }}",
        ),
        s(
            "groupby over a large list",
            "{{ ([dict(k=1)] * 10000000)|groupby(\"k\")|list|length }}",
        ),
        // JSON
        s(
            "tojson with a 2.5 billion indent (the reported finding)",
            "{{ [1, 2]|tojson(indent=2500000000)|length }}",
        ),
        s(
            "tojson with a wide indent over a large list",
            "{{ (range(100000)|list)|tojson(indent=32)|length }}",
        ),
        s(
            "tojson of a deeply nested list",
            "{% set ns = namespace(l=[1]) %}{% for i in range(99) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l|tojson(indent=2)|length }}",
        ),
        s(
            "tojson of a large string, again and again",
            "{% set ns = namespace(s=\"<\" * 100000) %}{% for i in range(20) %}{% set ns.s = ns.s|tojson|string %}{% endfor %}{{ ns.s|length }}",
        ),
        // Recursion and macros
        s(
            "deep recursion",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        ),
        s(
            "a macro that fans out tenfold",
            "{% macro f(n) %}{% for i in range(10) %}{{ f(n + 1) }}{% endfor %}{% endmacro %}{{ f(0) }}",
        ),
        s(
            "caller recursion",
            "{% macro f() %}{{ caller() }}{% endmacro %}{% macro g(n) %}{% call f() %}{{ g(n + 1) }}{% endcall %}{% endmacro %}{{ g(0) }}",
        ),
        s(
            "a recursive loop",
            "{% for x in [[1]] recursive %}{{ loop([[x, x]]) }}{% endfor %}",
        ),
        s(
            "the footer includes itself",
            "{% include \"default/_footer.html\" %}",
        ),
        s(
            "a macro returning a doubled list",
            "{% macro f(l, n) %}{% if n > 0 %}{{ f(l + l, n - 1) }}{% else %}{{ l|length }}{% endif %}{% endmacro %}{{ f([1] * 1000, 40) }}",
        ),
        // Loops
        s(
            "nested loops",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        ),
        s(
            "nested loops writing output",
            "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
        ),
        s("huge output", "{{ \"x\" * 600000 }}"),
        s(
            "huge output in a loop",
            "{% for i in range(9000) %}{{ \"0123456789\" * 60 }}{% endfor %}",
        ),
        s(
            "a loop that grows what it iterates",
            "{% set ns = namespace(l=[1]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i] %}{% endfor %}{{ ns.l|length }}",
        ),
        s(
            "a captured block doubled",
            "{% set ns = namespace(s=\"x\") %}{% for i in range(40) %}{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}{% endfor %}{{ ns.s|length }}",
        ),
    ];
    let german_only: Vec<(&'static str, String)> = bombs
        .iter()
        .map(|(what, src)| {
            (
                *what,
                format!(
                    "{{% if lang == \"de\" %}}{src}{{% endif %}}<footer class=\"mine\"></footer>"
                ),
            )
        })
        .collect();
    bombs.extend(german_only);
    bombs
}

/// A `/proc/self/status` figure in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Peak resident memory of this process since the last reset, in KiB.
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Resident memory of this process now, in KiB.
fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

#[test]
fn runaway_templates_fail_in_preview_and_the_shop_keeps_serving() {
    assert!(
        minijinja::budget::is_counting(),
        "the counting allocator is installed"
    );
    let themes = Themes::new();
    let brand = Brand {
        name: "Acme".to_owned(),
        primary_color: "#0a7b83".to_owned(),
        accent_color: "#ffb400".to_owned(),
        logo_url: None,
    };
    let look = Look::default();
    let page = |lang| StorePage {
        brand: &brand,
        look: &look,
        lang,
        lang_links: LangLink::all(lang),
        year: 2026,
        test_registry: false,
    };
    // Warm up: the built-in pages once, so that what is measured is the corpus.
    for lang in Lang::ALL {
        themes.render_home(&page(lang), None).unwrap();
    }
    let before = rss_kib();
    let corpus = corpus();
    assert!(corpus.len() >= 80, "{} bombs", corpus.len());
    let mut survived = Vec::new();
    let mut served_own = Vec::new();
    let mut peaks = Vec::new();
    for (what, source) in &corpus {
        // The peak is measured per bomb (reset before each), against the
        // resident size before the corpus.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let custom = themes
            .customize(&[("default/_footer.html".to_owned(), source.clone())])
            .unwrap_or_else(|e| panic!("{what}: compiles: {}", e.message));
        let started = std::time::Instant::now();
        // Preview (English is what the reseller looks at) fails for each,
        // the German-only ones included.
        match themes.preview(&custom, "default/_footer.html", &page(Lang::En)) {
            Ok(_) => survived.push(*what),
            Err(err) => assert!(!err.message.is_empty(), "{what}"),
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}: preview took {:?}",
            started.elapsed()
        );
        // Published anyway (as a template published before these checks
        // would be): every language is served, the failing footer replaced
        // by the built-in one.
        for lang in Lang::ALL {
            let html = themes
                .render_home(&page(lang), Some(&custom))
                .unwrap_or_else(|e| panic!("{what}: {lang:?}: {e}"));
            if !(html.contains("class=\"site-footer\"") || html.contains("class=\"mine\"")) {
                served_own.push(format!("{what}: {lang:?}"));
            }
        }
        peaks.push((*what, peak_rss_kib().saturating_sub(before)));
    }
    peaks.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    eprintln!("largest peaks (KiB): {:?}", &peaks[..8]);
    assert!(
        survived.is_empty() && served_own.is_empty(),
        "passed preview: {survived:#?}; served at run time: {served_own:#?}"
    );
    let grown = peaks.first().map_or(0, |(_, kib)| *kib);
    assert!(
        grown < 64 * 1024,
        "peak RSS grew by {} MiB over the corpus",
        grown / 1024
    );
}

/// Behind the fuel, the memory a render really allocates is counted: data
/// the fuel does not price (here a function's result) still stops the render
/// at the budget, with an error that says why.
#[test]
fn a_render_that_outgrows_its_memory_budget_fails_clearly() {
    assert!(minijinja::budget::is_counting());
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(50_000));
    env.set_memory_budget(Some(relabel_themes::MEMORY_BUDGET));
    // An object the engine cannot size, holding `mib` MiB.
    #[derive(Debug)]
    struct Hog(#[allow(dead_code)] Vec<u8>);
    impl minijinja::value::Object for Hog {}
    env.add_function("hog", |mib: usize| {
        minijinja::Value::from_object(Hog(vec![1u8; mib * 1024 * 1024]))
    });
    let err = env
        .render_str(
            "{% set a = hog(8) %}{% set b = hog(8) %}{% set c = hog(8) %}done",
            (),
        )
        .unwrap_err();
    assert_eq!(err.kind(), minijinja::ErrorKind::MemoryBudget, "{err}");
    assert!(
        err.to_string()
            .contains("the template would use more than 16 MiB of memory"),
        "{err}"
    );
    // Within the budget the same render passes.
    assert_eq!(
        env.render_str("{% set a = hog(4) %}{% set b = hog(4) %}done", ())
            .unwrap(),
        "done"
    );
}
