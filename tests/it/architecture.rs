//! The layers, read from the imports of every file in `src/`: web handlers (HTML and JSON) →
//! use cases (`app/`) → delivery and store → domain and db. These tests fail when a change
//! makes a lower layer reach up, makes the JSON API call into a browser handler module, closes
//! an import cycle between files, or grows a file past 500 lines.
//!
//! `cargo test --test it architecture -- --nocapture` also prints lines per folder, the largest
//! files and the import graph's layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its module path (`crate::web::api::webhooks`) and text.
struct SourceFile {
    module: String,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        // main.rs and commands.rs are the binary: it sits on top of the library and imports
        // it by name.
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != "main.rs" && n != "commands.rs")
        })
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let module = std::iter::once("crate".to_owned())
                .chain(parts)
                .collect::<Vec<_>>()
                .join("::");
            SourceFile {
                module,
                text: std::fs::read_to_string(&path).unwrap(),
            }
        })
        .collect()
}

/// The text without comments and string literals, so that neither is read as an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            // Raw strings (r"…", r#"…"#) are rare here; a plain scan to the closing quote.
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)]` modules: tests may reach anywhere.
fn without_tests(code: &str) -> String {
    let mut out = code.to_owned();
    while let Some(at) = out.find("#[cfg(test)]") {
        let Some(open) = out[at..].find('{').map(|o| at + o) else {
            break;
        };
        let mut depth = 0;
        let mut end = out.len();
        for (i, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

/// Expands `a::{b, c::{d, self}}` into `a::b`, `a::c::d`, `a::c`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(&tree);
        return vec![path.trim_end_matches("::self").to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            if p == "self" {
                vec![prefix.to_owned()]
            } else {
                expand_use(&format!("{prefix}::{p}"))
            }
        })
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `a::b::c` path in the code (the longest run of `ident::ident…`).
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let start = i;
            let mut end = i;
            loop {
                while end < chars.len() && is_ident(chars[end]) {
                    end += 1;
                }
                if end + 2 < chars.len()
                    && chars[end] == ':'
                    && chars[end + 1] == ':'
                    && is_ident(chars[end + 2])
                {
                    end += 2;
                } else {
                    break;
                }
            }
            let path: String = chars[start..end].iter().collect();
            if path.contains("::") {
                out.push(path);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Makes `path` (as written in `module`) absolute, or None when it is not this crate's.
/// `super` is the parent of the file's module, whether the file is `a.rs` or `a/mod.rs`.
fn absolute(path: &str, module: &str) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = module.split("::").collect();
    match segs[0] {
        "crate" => return Some(path.to_owned()),
        "self" => {
            segs.remove(0);
        }
        "super" => {
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base.pop();
            }
        }
        _ => return None,
    }
    base.extend(segs);
    Some(base.join("::"))
}

/// The file-level import graph: module → modules it imports (itself excluded).
fn graph(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.iter().map(|f| f.module.as_str()).collect();
    let resolve = |abs: &str| -> Option<String> {
        let segs: Vec<&str> = abs.split("::").collect();
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].join("::"))
            .find(|m| modules.contains(m.as_str()))
    };
    let mut g = BTreeMap::new();
    for f in files {
        let code = without_tests(&code_only(&f.text));
        let mut edges = BTreeSet::new();
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        // `use` statements, grouped imports expanded; their last segments become aliases.
        let mut from = 0;
        while let Some(pos) = code[from..].find("use ") {
            let at = from + pos;
            from = at + 4;
            if code[..at].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let Some(end) = code[at..].find(';') else {
                break;
            };
            for p in expand_use(&code[at + 4..at + end]) {
                let (p, alias) = match p.split_once(" as ") {
                    Some((p, a)) => (p.to_owned(), a.to_owned()),
                    None => (p.clone(), p.rsplit("::").next().unwrap_or("").to_owned()),
                };
                if let Some(abs) = absolute(&p, &f.module) {
                    aliases.insert(alias, abs);
                }
            }
        }
        for p in paths_in(&code) {
            let first = p.split("::").next().unwrap_or("");
            let child = format!("{}::{first}", f.module);
            let abs = match absolute(&p, &f.module) {
                Some(a) => Some(a),
                None if aliases.contains_key(first) => aliases
                    .get(first)
                    .map(|base| format!("{base}{}", &p[first.len()..])),
                // A path through a child module this file declares (`mod x;` then `x::f()`).
                None if modules.contains(child.as_str()) => Some(format!("{}::{p}", f.module)),
                None => None,
            };
            if let Some(target) = abs.as_deref().and_then(resolve)
                && target != f.module
            {
                edges.insert(target);
            }
        }
        // An imported item (`use crate::state::AppState;`) is used bare; an imported module
        // (`use crate::store;`) is used through paths, which the loop above resolved further.
        for abs in aliases.values() {
            if let Some(target) = resolve(abs)
                && target != f.module
                && target != *abs
            {
                edges.insert(target);
            }
        }
        // A parent declaring its child (`pub mod x;`) is not an import.
        g.insert(f.module.clone(), edges);
    }
    g
}

/// Strongly connected components with more than one file: the import cycles.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(n) {
            return;
        }
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, seen, order);
        }
        order.push(n);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for n in g.keys() {
        visit(n, g, &mut seen, &mut order);
    }
    let mut rev: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, ms) in g {
        for m in ms {
            rev.entry(m.as_str()).or_default().push(n.as_str());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.into_iter().rev() {
        if assigned.contains(n) {
            continue;
        }
        let mut comp = Vec::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if !assigned.insert(x) {
                continue;
            }
            comp.push(x.to_owned());
            stack.extend(rev.get(x).into_iter().flatten().copied());
        }
        if comp.len() > 1 {
            comp.sort();
            out.push(comp);
        }
    }
    out
}

/// Which layer a module belongs to; a module may import its own layer and those below.
fn layer(module: &str) -> u8 {
    let m = module.strip_prefix("crate::").unwrap_or("");
    let top = m.split("::").next().unwrap_or("");
    match top {
        "" | "fuzzing" => 6, // the crate root wires everything; fuzzing drives the parsers
        "web" => 5,
        "app" => 4,
        "delivery" | "state" | "limits" | "metrics" | "retention" => 3,
        "store" => 2,
        "domain" | "db" | "config" | "error" => 1,
        other => panic!("{module}: which layer is `{other}`? Add it to architecture.rs"),
    }
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let files = sources();
    let g = graph(&files);
    let mut wrong = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            if layer(to) > layer(from) {
                wrong.push(format!("{from} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that climb a layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_json_api_never_imports_a_browser_handler_module() {
    let g = graph(&sources());
    let mut wrong = Vec::new();
    for (from, tos) in &g {
        let api = |m: &str| m == "crate::web::api" || m.starts_with("crate::web::api::");
        if !api(from) {
            continue;
        }
        for to in tos {
            // The API may use its own modules and the request-parsing helpers in web::forms.
            let allowed = api(to) || to == "crate::web::forms";
            if to.starts_with("crate::web") && !allowed {
                wrong.push(format!("{from} imports {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_import_cycle_between_files() {
    let found = cycles(&graph(&sources()));
    assert!(
        found.is_empty(),
        "files that import each other, directly or around a loop:\n{}",
        found
            .iter()
            .map(|c| c.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut sizes: Vec<(usize, String)> = sources()
        .iter()
        .map(|f| (f.text.lines().count(), f.module.clone()))
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    let mut per_folder: BTreeMap<String, usize> = BTreeMap::new();
    for (n, m) in &sizes {
        let folder = m.split("::").nth(1).unwrap_or("(root)").to_owned();
        *per_folder.entry(folder).or_default() += n;
    }
    println!("lines per folder: {per_folder:?}");
    println!("largest files: {:?}", &sizes[..sizes.len().min(8)]);
    let over: Vec<_> = sizes.iter().filter(|(n, _)| *n > 500).collect();
    assert!(over.is_empty(), "files over 500 lines: {over:?}");
}

#[test]
fn the_checker_reads_grouped_imports_aliases_and_super() {
    assert_eq!(
        expand_use("crate::store::{self, users::{Role, User}}"),
        [
            "crate::store",
            "crate::store::users::Role",
            "crate::store::users::User"
        ]
    );
    assert_eq!(
        absolute("super::forms::Form", "crate::web::auth").as_deref(),
        Some("crate::web::forms::Form")
    );
    let files = vec![
        SourceFile {
            module: "crate::a".into(),
            text: "use crate::b;\nfn f() { b::g(); } // crate::c::x".into(),
        },
        SourceFile {
            module: "crate::b".into(),
            text: "fn g() { crate::a::f(); let s = \"crate::c\"; }".into(),
        },
        SourceFile {
            module: "crate::c".into(),
            text: String::new(),
        },
    ];
    let g = graph(&files);
    assert_eq!(g["crate::a"], BTreeSet::from(["crate::b".to_owned()]));
    assert_eq!(g["crate::b"], BTreeSet::from(["crate::a".to_owned()]));
    assert_eq!(
        cycles(&g),
        vec![vec!["crate::a".to_owned(), "crate::b".to_owned()]]
    );
}
